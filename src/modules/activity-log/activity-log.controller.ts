import { KeyScope } from '../api-keys/api-key-scopes';
import {
  applyDecorators,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  StreamableFile,
} from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../../common/auth/auth-user';
import { CurrentUser } from '../../common/auth/auth.decorators';
import { ApiResult } from '../../common/http/api-result';
import { API_PREFIX, RawResponse } from '../../common/http/envelope.interceptor';
import { IdempotencyKey, IDEMPOTENCY_KEY_HEADER } from '../../common/http/idempotency-key';
import { IdParamPipe } from '../../common/http/id-param.pipe';
import { ApiEnvelope, ApiErrors } from '../../common/openapi/api-envelope.decorators';
import { ActivityLogService, ActivityPage } from './activity-log.service';
import { ActivityExportQueryDto, ActivityQueryDto } from './dto/activity-query.dto';
import { ActivityResponseDto } from './dto/activity-response.dto';
import { CreateActivityBatchDto, CreateActivityDto, UpdateStatusDto } from './dto/create-activity.dto';

const IDEMPOTENCY_HEADER = {
  name: IDEMPOTENCY_KEY_HEADER,
  required: false,
  description:
    '1 to 255 characters. A retry with the same key and body within 24 hours returns the first answer and stores nothing; the same key with another body: 409.',
};

export const NO_CACHE_HEADER = {
  name: 'Cache-Control',
  required: false,
  description: '`no-cache`: read from the database, not the cache (the fresh page is then cached).',
};

/** Where a stored activity is read. */
const location = (id: number) => `${API_PREFIX}/activities/${id}`;

/** A list page, sent as the text it was serialized (or cached) as, and whether it came from the cache. */
export function listResponse({ page, cacheHit }: ActivityPage): ApiResult<ActivityResponseDto[]> {
  return ApiResult.serializedPage<ActivityResponseDto>(page).withHeaders({ 'X-Cache': cacheHit ? 'HIT' : 'MISS' });
}

const EXPORT_TYPES = { csv: 'text/csv; charset=utf-8', ndjson: 'application/x-ndjson; charset=utf-8' } as const;

/** The documentation both status routes share. */
const StatusChangeDocs = (description: string) =>
  applyDecorators(
    ApiOperation({ summary: 'Change an activity’s status', description }),
    ApiEnvelope(ActivityResponseDto, { message: 'Updated to DONE' }),
    ApiErrors(400, 401, 403, 404, 409),
  );

@ApiTags('Activities')
@Controller('activities')
export class ActivityLogController {
  constructor(private readonly activities: ActivityLogService) {}

  @Post()
  @KeyScope('activities:write')
  @ApiOperation({
    summary: 'Record an activity',
    description:
      'The signed-in user is `user`; `actor` defaults to it. The client address and User-Agent are recorded.',
  })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiEnvelope(ActivityResponseDto, { status: 201 })
  @ApiErrors(400, 401, 409, 413, 415)
  async create(@CurrentUser() caller: AuthUser, @Body() dto: CreateActivityDto, @IdempotencyKey() key?: string) {
    const { activities } = await this.activities.create(caller, [dto], false, key);
    return ApiResult.of(activities[0]).withHeaders({ Location: location(activities[0].id) });
  }

  @Post('batch')
  @KeyScope('activities:write')
  @ApiOperation({
    summary: 'Record 1 to 1000 activities at once',
    description:
      'All items are validated first; one bad item fails the batch (details name `items[i].field`) and nothing is stored.',
  })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiEnvelope(ActivityResponseDto, { status: 201, isArray: true })
  @ApiErrors(400, 401, 409, 413, 415)
  async createBatch(
    @CurrentUser() caller: AuthUser,
    @Body() dto: CreateActivityBatchDto,
    @IdempotencyKey() key?: string,
  ) {
    return (await this.activities.create(caller, dto.items, true, key)).activities;
  }

  @Get()
  @KeyScope('activities:read')
  @ApiOperation({
    summary: 'List activities',
    description:
      'The caller’s own (an ADMIN’s: everyone’s, or `userId`’s). Cached per caller and query: `X-Cache: HIT|MISS`.',
  })
  @ApiHeader(NO_CACHE_HEADER)
  @ApiEnvelope(ActivityResponseDto, { paginated: true })
  @ApiErrors(400, 401, 403)
  async list(@CurrentUser() caller: AuthUser, @Query() query: ActivityQueryDto) {
    return listResponse(await this.activities.list(caller, query));
  }

  @Get('export')
  @KeyScope('activities:read')
  @RawResponse()
  @ApiOperation({
    summary: 'Export activities as CSV or NDJSON',
    description:
      'The whole result of the list filters as a streamed download (not enveloped), read in batches: memory does not grow with the row count. CSV cells that a spreadsheet would run as a formula are prefixed with an apostrophe.',
  })
  @ApiProduces('text/csv', 'application/x-ndjson')
  @ApiResponse({
    status: 200,
    description: 'A file download (Content-Disposition: attachment)',
    content: {
      'text/csv': { schema: { type: 'string' }, example: 'id,user,action,status\r\n1,4,LOGIN,PENDING\r\n' },
      'application/x-ndjson': { schema: { type: 'string' } },
    },
  })
  @ApiErrors(400, 401, 403)
  async export(@CurrentUser() caller: AuthUser, @Query() query: ActivityExportQueryDto) {
    const { stream, format } = await this.activities.export(caller, query);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    return new StreamableFile(stream, {
      type: EXPORT_TYPES[format],
      disposition: `attachment; filename="activities-${stamp}.${format}"`,
    });
  }

  @Get(':id')
  @KeyScope('activities:read')
  @ApiOperation({
    summary: 'Get an activity',
    description: 'Another user’s (non-ADMIN): 403; missing or deleted: 404.',
  })
  @ApiEnvelope(ActivityResponseDto)
  @ApiErrors(400, 401, 403, 404)
  get(@CurrentUser() caller: AuthUser, @Param('id', IdParamPipe) id: number) {
    return this.activities.get(caller, id);
  }

  @Patch(':id')
  @KeyScope('activities:write')
  @StatusChangeDocs('PATCH /activities/{id}/status, by its other name.')
  update(@CurrentUser() caller: AuthUser, @Param('id', IdParamPipe) id: number, @Body() dto: UpdateStatusDto) {
    return this.changeStatus(caller, id, dto);
  }

  @Patch(':id/status')
  @KeyScope('activities:write')
  @StatusChangeDocs(
    'PENDING -> IN_PROGRESS -> DONE | FAILED, or PENDING straight to DONE or FAILED; COMPLETED means DONE. The same status again: 200, nothing changes. Leaving DONE or FAILED: 409. Unknown status: 400 "Invalid status".',
  )
  updateStatus(@CurrentUser() caller: AuthUser, @Param('id', IdParamPipe) id: number, @Body() dto: UpdateStatusDto) {
    return this.changeStatus(caller, id, dto);
  }

  @Delete(':id')
  @KeyScope('activities:write')
  @ApiOperation({ summary: 'Delete an activity (soft)', description: 'Owner or ADMIN. It then reads as 404.' })
  @ApiEnvelope(ActivityResponseDto)
  @ApiErrors(400, 401, 403, 404)
  remove(@CurrentUser() caller: AuthUser, @Param('id', IdParamPipe) id: number) {
    return this.activities.remove(caller, id);
  }

  @Post(':id/restore')
  @KeyScope('activities:write')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Restore a deleted activity',
    description: 'Owner or ADMIN. One that is not deleted: no change.',
  })
  @ApiEnvelope(ActivityResponseDto)
  @ApiErrors(400, 401, 403, 404)
  restore(@CurrentUser() caller: AuthUser, @Param('id', IdParamPipe) id: number) {
    return this.activities.restore(caller, id);
  }

  private async changeStatus(caller: AuthUser, id: number, dto: UpdateStatusDto) {
    const activity = await this.activities.updateStatus(caller, id, dto.status);
    return ApiResult.of(activity, 'updatedTo', { status: activity.status });
  }
}
