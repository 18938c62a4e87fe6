import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../../common/auth/auth-user';
import { CurrentUser, Roles } from '../../common/auth/auth.decorators';
import { ApiResult } from '../../common/http/api-result';
import { IdParamPipe } from '../../common/http/id-param.pipe';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorators';
import { UpdateUserDto } from './dto/update-user.dto';
import { UserQueryDto } from './dto/user-query.dto';
import { UserResponseDto } from './dto/user-response.dto';
import { UsersService } from './users.service';

@ApiTags('Users')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @Roles('ADMIN')
  @ApiOperation({ summary: 'List users', description: 'ADMIN only. Filter by role or text; deleted users on request.' })
  @ApiEnvelope(UserResponseDto, { paginated: true })
  @ApiErrors(400, 401, 403)
  async list(@Query() query: UserQueryDto) {
    return ApiResult.page(await this.users.list(query));
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a user', description: 'An ADMIN, or that user. A deleted user reads as 404.' })
  @ApiEnvelope(UserResponseDto)
  @ApiErrors(400, 401, 403, 404)
  get(@CurrentUser() caller: AuthUser, @Param('id', IdParamPipe) id: number) {
    return this.users.get(caller, id);
  }

  @Patch(':id')
  @Roles('ADMIN')
  @ApiOperation({
    summary: 'Change a user’s name or role',
    description: 'ADMIN only. A role change ends all of that user’s logins. An ADMIN cannot demote itself (409).',
  })
  @ApiEnvelope(UserResponseDto)
  @ApiErrors(400, 401, 403, 404, 409)
  update(@CurrentUser() caller: AuthUser, @Param('id', IdParamPipe) id: number, @Body() dto: UpdateUserDto) {
    return this.users.update(caller, id, dto);
  }

  @Delete(':id')
  @Roles('ADMIN')
  @ApiOperation({
    summary: 'Delete a user (soft)',
    description: 'ADMIN only. The user can no longer sign in and its tokens stop working. Not oneself (409).',
  })
  @ApiEnvelope(UserResponseDto)
  @ApiErrors(400, 401, 403, 404, 409)
  remove(@CurrentUser() caller: AuthUser, @Param('id', IdParamPipe) id: number) {
    return this.users.remove(caller, id);
  }

  @Post(':id/restore')
  @HttpCode(200)
  @Roles('ADMIN')
  @ApiOperation({
    summary: 'Restore a deleted user',
    description: 'ADMIN only. A user that is not deleted: no change.',
  })
  @ApiEnvelope(UserResponseDto)
  @ApiErrors(400, 401, 403, 404)
  restore(@Param('id', IdParamPipe) id: number) {
    return this.users.restore(id);
  }
}
