import { KeyScope } from '../api-keys/api-key-scopes';
import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../../common/auth/auth.decorators';
import { ApiResult } from '../../common/http/api-result';
import { IdParamPipe } from '../../common/http/id-param.pipe';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorators';
import { AuditLogService } from './audit-log.service';
import { AuditLogQueryDto } from './dto/audit-log-query.dto';
import { AuditChainCheckDto, AuditLogResponseDto } from './dto/audit-log-response.dto';

@ApiTags('Audit logs')
@Roles('ADMIN')
@Controller('audit-logs')
export class AuditLogController {
  constructor(private readonly auditLogs: AuditLogService) {}

  @Get()
  @KeyScope('audit:read')
  @ApiOperation({
    summary: 'List audit trail entries',
    description:
      'ADMIN only. Filters, sorting (`sort_by` from a fixed set), `page`/`limit` with totals, or keyset `cursor`.',
  })
  @ApiEnvelope(AuditLogResponseDto, { paginated: true })
  @ApiErrors(400, 401, 403)
  async list(@Query() query: AuditLogQueryDto) {
    return ApiResult.page(await this.auditLogs.list(query));
  }

  @Get('verify')
  @KeyScope('audit:read')
  @ApiOperation({
    summary: 'Verify the hash chain of the audit trail',
    description:
      'ADMIN only. Re-hashes every entry; `firstInvalidId` names the first entry altered, removed or forged.',
  })
  @ApiEnvelope(AuditChainCheckDto)
  @ApiErrors(401, 403)
  verify() {
    return this.auditLogs.verify();
  }

  @Get(':id')
  @KeyScope('audit:read')
  @ApiOperation({ summary: 'Get one audit trail entry', description: 'ADMIN only.' })
  @ApiEnvelope(AuditLogResponseDto)
  @ApiErrors(400, 401, 403, 404)
  get(@Param('id', IdParamPipe) id: number) {
    return this.auditLogs.get(id);
  }
}
