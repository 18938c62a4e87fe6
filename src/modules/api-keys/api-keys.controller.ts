import { Body, Controller, Delete, Get, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../../common/auth/auth-user';
import { CurrentUser } from '../../common/auth/auth.decorators';
import { ApiResult } from '../../common/http/api-result';
import { IdParamPipe } from '../../common/http/id-param.pipe';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorators';
import { ApiKeysService } from './api-keys.service';
import { ApiKeyQueryDto, ApiKeyResponseDto, CreateApiKeyDto, CreatedApiKeyDto } from './dto/api-key.dto';

/** No route here takes a key: keys never manage keys. */
@ApiTags('API keys')
@Controller('api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiOperation({
    summary: 'Create an API key',
    description:
      'For the caller, or (an ADMIN only) for `userId`. `key` is in this answer only; keep it. Signed in with a token, not a key.',
  })
  @ApiEnvelope(CreatedApiKeyDto, { status: 201 })
  @ApiErrors(400, 401, 403, 404, 413, 415)
  async create(@CurrentUser() caller: AuthUser, @Body() dto: CreateApiKeyDto) {
    return ApiResult.of(await this.keys.create(caller, dto), 'apiKeyCreated');
  }

  @Get()
  @ApiOperation({
    summary: 'List API keys',
    description: 'The caller’s keys (an ADMIN: everyone’s, or `userId`’s). Never the key itself.',
  })
  @ApiEnvelope(ApiKeyResponseDto, { paginated: true })
  @ApiErrors(400, 401, 403)
  async list(@CurrentUser() caller: AuthUser, @Query() query: ApiKeyQueryDto) {
    return ApiResult.page(await this.keys.list(caller, query));
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get an API key', description: 'Its owner or an ADMIN; others read 404.' })
  @ApiEnvelope(ApiKeyResponseDto)
  @ApiErrors(400, 401, 403, 404)
  get(@CurrentUser() caller: AuthUser, @Param('id', IdParamPipe) id: number) {
    return this.keys.get(caller, id);
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Revoke an API key',
    description: 'Its owner or an ADMIN. The key stops working at once, on every instance.',
  })
  @ApiEnvelope(ApiKeyResponseDto)
  @ApiErrors(400, 401, 403, 404)
  async revoke(@CurrentUser() caller: AuthUser, @Param('id', IdParamPipe) id: number) {
    return ApiResult.of(await this.keys.revoke(caller, id), 'apiKeyRevoked');
  }
}
