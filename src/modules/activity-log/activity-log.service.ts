import { HttpStatus, Injectable, StreamableFile } from '@nestjs/common';
import { pipeline } from 'node:stream';
import { createHash } from 'node:crypto';
import { AuthUser } from '../../common/auth/auth-user';
import { RequestContext, RequestContextStore } from '../../common/context/request-context';
import { AppException } from '../../common/http/app.exception';
import { ApiResult } from '../../common/http/api-result';
import { CursorCodec, cursorScope } from '../../common/pagination/cursor';
import { pageMeta, pagingFrom } from '../../common/pagination/paging';
import { parseBound, timeWindow } from '../../common/pagination/time-window';
import { ConsistentReads } from '../../database/consistent-reads';
import { Transactions } from '../../database/transactions';
import { AuditLogService } from '../audit-log/audit-log.service';
import { exportEncoder } from './activity-export';
import { ActivityListCache, activityWriteScope, stableJson } from './activity-list-cache.service';
import { ActivityLog } from './activity-log.entity';
import { ActivityFilters, ActivityLogRepository, ActivityOrder, NewActivity } from './activity-log.repository';
import { canChangeStatus, parseStatus } from './activity-status';
import { ActivityExportQueryDto, ActivityFilterDto, ActivityQueryDto } from './dto/activity-query.dto';
import { ActivityResponseDto, toActivityResponse } from './dto/activity-response.dto';
import { CreateActivityDto } from './dto/create-activity.dto';
import { IdempotencyRepository } from './idempotency.repository';

export const API_ACTIVITIES = '/api/v1/activities';

/** The rules of activities: who may see and change which, status transitions, idempotent creation, caching. */
@Injectable()
export class ActivityLogService {
  constructor(
    private readonly activities: ActivityLogRepository,
    private readonly idempotency: IdempotencyRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditLogService,
    private readonly cache: ActivityListCache,
    private readonly cursors: CursorCodec,
    private readonly reads: ConsistentReads,
  ) {}

  /** One activity, or the batch's, stored in one transaction; a repeated Idempotency-Key replays the first answer. */
  async create(
    caller: AuthUser,
    items: CreateActivityDto[],
    batch: boolean,
    idempotencyKey?: string,
  ): Promise<ApiResult<unknown>> {
    const context = RequestContextStore.current();
    const rows = items.map((item) => this.toRow(caller, item, context));
    const answer = (data: unknown) => {
      const result = ApiResult.of(data);
      if (!batch) result.withHeaders({ Location: `${API_ACTIVITIES}/${(data as ActivityResponseDto).id}` });
      return result;
    };
    if (idempotencyKey !== undefined && (idempotencyKey.length < 1 || [...idempotencyKey].length > 255)) {
      throw new AppException(HttpStatus.BAD_REQUEST, 'validationFailed', {}, [
        { field: 'Idempotency-Key', message: 'Idempotency-Key must be 1 to 255 characters' },
      ]);
    }
    if (idempotencyKey === undefined) {
      // One INSERT statement stores every row or none.
      const stored = await this.transactions.single((tx) => this.activities.insertMany(tx, rows));
      await this.cache.invalidate(caller.id);
      return answer(this.shape(stored, batch));
    }
    const requestHash = createHash('sha256')
      .update(`${batch ? 'batch' : 'single'}\n${stableJson(items)}`)
      .digest('hex');
    const outcome = await this.transactions.run(async (tx) => {
      const claim = await this.idempotency.claim(tx, caller.id, idempotencyKey, requestHash);
      if (!claim.claimed) return { replay: true as const, claim };
      const data = this.shape(await this.activities.insertMany(tx, rows), batch);
      await this.idempotency.saveResponse(tx, caller.id, idempotencyKey, data);
      return { replay: false as const, data };
    });
    if (!outcome.replay) {
      await this.cache.invalidate(caller.id);
      return answer(outcome.data);
    }
    if (outcome.claim.requestHash !== requestHash) throw new AppException(HttpStatus.CONFLICT, 'idempotencyConflict');
    return answer(outcome.claim.response);
  }

  /** The caller's activities (an ADMIN's: everyone's, or one user's), from the cache when it is current. */
  async list(
    caller: AuthUser,
    query: ActivityQueryDto,
    pathUserId?: number,
  ): Promise<ApiResult<ActivityResponseDto[]>> {
    const filters = this.filtersFor(caller, query, pathUserId);
    const order = orderOf(query);
    const scope = cursorScope('activities', { ...filters, order: `${order.direction}:${order.field}` });
    const paging = pagingFrom(query, this.cursors, scope);
    const cacheKey = { filters, order, paging };
    const cached = await this.cache.lookup(caller, cacheKey, RequestContextStore.current()?.noCache ?? false);
    if (cached.page)
      return ApiResult.serializedPage<ActivityResponseDto>(cached.page).withHeaders({ 'X-Cache': 'HIT' });
    const { rows, total } = await this.reads.readAt(cached.readAfter ?? 0n, (db) =>
      this.activities.list(filters, order, paging, db),
    );
    const { items, meta } = pageMeta(rows, paging, total, this.cursors, scope, (row) => ({
      value: sortValue(row, order),
      id: row.id,
    }));
    // Serialized once: the same text is cached and sent.
    const page = { data: JSON.stringify(items.map(toActivityResponse)), meta: JSON.stringify(meta) };
    await this.cache.store(cached, page);
    return ApiResult.serializedPage<ActivityResponseDto>(page).withHeaders({ 'X-Cache': 'MISS' });
  }

  async get(caller: AuthUser, id: number): Promise<ActivityResponseDto> {
    const activity = await this.reads.read(
      (db) => this.activities.findById(id, { withDeleted: true, db }),
      [activityWriteScope(caller)],
    );
    return toActivityResponse(this.visible(caller, activity, id));
  }

  /** PENDING -> IN_PROGRESS -> DONE | FAILED; the same status again changes nothing and writes no entry. */
  async updateStatus(caller: AuthUser, id: number, requested: string): Promise<ApiResult<ActivityResponseDto>> {
    const status = parseStatus(requested);
    if (!status) {
      throw new AppException(HttpStatus.BAD_REQUEST, 'invalidStatus', {}, [
        { field: 'status', message: 'status must be one of PENDING, IN_PROGRESS, DONE, FAILED (or COMPLETED)' },
      ]);
    }
    const activity = await this.transactions.run(async (tx) => {
      const current = this.visible(
        caller,
        await this.activities.findById(id, { withDeleted: true, tx, lock: true }),
        id,
      );
      if (current.status === status) return current;
      if (!canChangeStatus(current.status, status)) {
        throw new AppException(HttpStatus.CONFLICT, 'invalidTransition', { from: current.status, to: status });
      }
      const updated = await this.activities.update(tx, id, { status });
      await this.audit.record(tx, {
        action: 'UPDATE',
        entityType: 'ActivityLog',
        entityId: id,
        oldValues: { status: current.status },
        newValues: { status },
      });
      return updated;
    });
    await this.cache.invalidate(activity.userId);
    return ApiResult.of(toActivityResponse(activity), 'updatedTo', { status: activity.status });
  }

  /** Soft delete: it then reads as 404 and leaves lists (but an ADMIN's with includeDeleted=true). */
  async remove(caller: AuthUser, id: number): Promise<ActivityResponseDto> {
    const activity = await this.transactions.run(async (tx) => {
      this.visible(caller, await this.activities.findById(id, { withDeleted: true, tx, lock: true }), id);
      const deleted = await this.activities.update(tx, id, { deletedAt: new Date() });
      await this.audit.record(tx, {
        action: 'DELETE',
        entityType: 'ActivityLog',
        entityId: id,
        oldValues: { deletedAt: null },
        newValues: { deletedAt: deleted.deletedAt?.toISOString() ?? null },
      });
      return deleted;
    });
    await this.cache.invalidate(activity.userId);
    return toActivityResponse(activity);
  }

  /** Restoring an activity that is not deleted changes nothing and writes no entry. */
  async restore(caller: AuthUser, id: number): Promise<ActivityResponseDto> {
    const { activity, changed } = await this.transactions.run(async (tx) => {
      const current = await this.activities.findById(id, { withDeleted: true, tx, lock: true });
      if (!current) throw notFound(id);
      this.ensureMayTouch(caller, current);
      if (!current.deletedAt) return { activity: current, changed: false };
      const restored = await this.activities.update(tx, id, { deletedAt: null });
      await this.audit.record(tx, {
        action: 'RESTORE',
        entityType: 'ActivityLog',
        entityId: id,
        oldValues: { deletedAt: current.deletedAt.toISOString() },
        newValues: { deletedAt: null },
      });
      return { activity: restored, changed: true };
    });
    if (changed) await this.cache.invalidate(activity.userId);
    return toActivityResponse(activity);
  }

  /** The whole filtered list as a streamed download, read from the database in batches as the client takes it. */
  async export(caller: AuthUser, query: ActivityExportQueryDto): Promise<StreamableFile> {
    const format = query.format ?? 'csv';
    const filters = this.filtersFor(caller, query);
    const rows = await this.reads.stream(
      (client) => this.activities.stream(filters, orderOf(query), client),
      [activityWriteScope(caller)],
    );
    const body = pipeline(rows, exportEncoder(format), () => undefined);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    return new StreamableFile(body, {
      type: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      disposition: `attachment; filename="activities-${stamp}.${format}"`,
    });
  }

  /** Who and what a list or export may read. A non-ADMIN reads only its own, and never deleted ones. */
  private filtersFor(caller: AuthUser, query: ActivityFilterDto, pathUserId?: number): ActivityFilters {
    const admin = caller.role === 'ADMIN';
    if (pathUserId !== undefined && query.userId !== undefined && query.userId !== pathUserId) {
      throw new AppException(HttpStatus.BAD_REQUEST, 'validationFailed', {}, [
        { field: 'userId', message: 'userId must match the user of the path' },
      ]);
    }
    const userId = pathUserId ?? query.userId;
    if (!admin && ((userId !== undefined && userId !== caller.id) || query.includeDeleted)) {
      throw new AppException(HttpStatus.FORBIDDEN, 'forbidden');
    }
    let { from, to } = timeWindow(query.start, query.end, 'start', 'end');
    if (query.timestamp) {
      // One day, narrowed further by start/end when both are given.
      const dayStart = parseBound(query.timestamp, 'start')!;
      const dayEnd = parseBound(query.timestamp, 'end')!;
      from = from && from > dayStart ? from : dayStart;
      to = to && to < dayEnd ? to : dayEnd;
    }
    return {
      userId: admin ? userId : caller.id,
      actions: query.action,
      status: query.status === undefined ? undefined : parseStatus(query.status),
      targetType: query.targetType,
      targetId: query.targetId,
      source: query.source,
      from,
      to,
      q: query.q,
      includeDeleted: admin && (query.includeDeleted ?? false),
    };
  }

  private toRow(caller: AuthUser, item: CreateActivityDto, context: RequestContext | undefined): NewActivity {
    const actor = item.actor ?? {
      userId: String(caller.id),
      name: caller.name,
      email: caller.email,
      role: caller.role,
    };
    return {
      userId: caller.id,
      action: item.action,
      status: item.status ?? 'PENDING',
      metadata: item.metadata ?? {},
      actorUserId: actor.userId ?? null,
      actorName: actor.name,
      actorEmail: actor.email,
      actorRole: actor.role ?? null,
      targetType: item.target?.type ?? null,
      targetId: item.target?.id ?? null,
      targetModel: item.target?.model ?? null,
      targetName: item.target?.name ?? null,
      contextDescription: item.context?.description ?? null,
      contextSource: item.context?.source ?? null,
      contextAdditionalInfo: item.context ? (item.context.additionalInfo ?? {}) : null,
      ipAddress: context?.ipAddress ?? null,
      userAgent: context?.userAgent ?? null,
      timestamp: item.timestamp ? new Date(item.timestamp) : null,
    };
  }

  private shape(stored: ActivityLog[], batch: boolean): ActivityResponseDto | ActivityResponseDto[] {
    const responses = stored.map(toActivityResponse);
    return batch ? responses : responses[0];
  }

  /** 404 when missing or deleted; 403 when another user's (for a non-ADMIN), deleted or not. */
  private visible(caller: AuthUser, activity: ActivityLog | null, id: number): ActivityLog {
    if (!activity) throw notFound(id);
    this.ensureMayTouch(caller, activity);
    if (activity.deletedAt) throw notFound(id);
    return activity;
  }

  private ensureMayTouch(caller: AuthUser, activity: ActivityLog): void {
    if (caller.role !== 'ADMIN' && activity.userId !== caller.id)
      throw new AppException(HttpStatus.FORBIDDEN, 'forbidden');
  }
}

function orderOf(query: ActivityFilterDto): ActivityOrder {
  const ordering = query.ordering ?? '-timestamp';
  const descending = ordering.startsWith('-');
  return {
    field: (descending ? ordering.slice(1) : ordering) as ActivityOrder['field'],
    direction: descending ? 'DESC' : 'ASC',
  };
}

function sortValue(row: ActivityLog, order: ActivityOrder): string {
  switch (order.field) {
    case 'timestamp':
      return row.timestamp.toISOString();
    case 'createdAt':
      return row.createdAt.toISOString();
    case 'action':
      return row.action;
    case 'status':
      return row.status;
  }
}

const notFound = (id: number) => new AppException(HttpStatus.NOT_FOUND, 'activityNotFound', { id });
