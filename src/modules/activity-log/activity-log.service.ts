import { HttpStatus, Injectable } from '@nestjs/common';
import { pipeline, type Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { AuthUser } from '../../common/auth/auth-user';
import { RequestContext, RequestContextStore } from '../../common/context/request-context';
import { AppException } from '../../common/http/app.exception';
import type { SerializedPage } from '../../common/http/api-result';
import { CursorCodec, cursorScope } from '../../common/pagination/cursor';
import { pageMeta, pagingFrom } from '../../common/pagination/paging';
import { parseBound, timeWindow } from '../../common/pagination/time-window';
import { ConsistentReads } from '../../database/consistent-reads';
import { Transactions, Tx } from '../../database/transactions';
import { AuditLogService } from '../audit-log/audit-log.service';
import { ExportFormat, exportEncoder } from './activity-export';
import { ActivityListCache, activityWriteScope, stableJson } from './activity-list-cache.service';
import { ActivityLog } from './activity-log.entity';
import { ActivityFilters, ActivityLogRepository, ActivityOrder, NewActivity } from './activity-log.repository';
import { canChangeStatus, parseStatus } from './activity-status';
import { ActivityExportQueryDto, ActivityFilterDto, ActivityQueryDto } from './dto/activity-query.dto';
import { WebhookOutbox } from '../webhooks/outbox/webhook-outbox';
import { ActivityResponseDto, toActivityResponse } from './dto/activity-response.dto';
import { CreateActivityDto } from './dto/create-activity.dto';
import { IdempotencyRepository } from './idempotency.repository';

/** Activities stored (in the order given), or the first answer of an Idempotency-Key replayed. */
export interface CreatedActivities {
  activities: ActivityResponseDto[];
  replayed: boolean;
}

/** A list page as the JSON text it is sent as, and whether it came from the cache. */
export interface ActivityPage {
  page: SerializedPage;
  cacheHit: boolean;
}

/** An export: the encoded rows as they are read. */
export interface ActivityExport {
  stream: Readable;
  format: ExportFormat;
}

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
    private readonly outbox: WebhookOutbox,
  ) {}

  /**
   * One activity, or the batch's, stored in one statement; with an idempotency key, in one transaction with the key,
   * and a repeated key replays the first answer. `batch` tells the two apart for the key (and the stored answer).
   */
  async create(
    caller: AuthUser,
    items: CreateActivityDto[],
    batch: boolean,
    idempotencyKey?: string,
  ): Promise<CreatedActivities> {
    const context = RequestContextStore.current();
    const rows = items.map((item) => this.toRow(caller, item, context));
    const insert = async (tx: Tx) => {
      const stored = await this.activities.insertMany(tx, rows);
      tx.touch('activitiesChanged', caller.id);
      for (const activity of stored) tx.touch('activityCreated', activity.id);
      return stored.map(toActivityResponse);
    };
    if (idempotencyKey === undefined) {
      // One INSERT statement stores every row or none.
      return { activities: await this.transactions.single(insert), replayed: false };
    }
    const requestHash = createHash('sha256')
      .update(`${batch ? 'batch' : 'single'}\n${stableJson(items)}`)
      .digest('hex');
    const outcome = await this.transactions.run(async (tx) => {
      const claim = await this.idempotency.claim(tx, caller.id, idempotencyKey, requestHash);
      if (!claim.claimed) return { replay: true as const, claim };
      const activities = await insert(tx);
      await this.idempotency.saveResponse(tx, caller.id, idempotencyKey, batch ? activities : activities[0]);
      return { replay: false as const, activities };
    });
    if (!outcome.replay) return { activities: outcome.activities, replayed: false };
    if (outcome.claim.requestHash !== requestHash) throw new AppException(HttpStatus.CONFLICT, 'idempotencyConflict');
    const first = outcome.claim.response as ActivityResponseDto | ActivityResponseDto[];
    return { activities: Array.isArray(first) ? first : [first], replayed: true };
  }

  /** The caller's activities (an ADMIN's: everyone's, or one user's), from the cache when it is current. */
  async list(caller: AuthUser, query: ActivityQueryDto, pathUserId?: number): Promise<ActivityPage> {
    const filters = this.filtersFor(caller, query, pathUserId);
    const order = orderOf(query);
    const scope = cursorScope('activities', { ...filters, order: `${order.direction}:${order.field}` });
    const paging = pagingFrom(query, this.cursors, scope);
    const cacheKey = { filters, order, paging };
    const cached = await this.cache.lookup(caller, cacheKey, RequestContextStore.current()?.noCache ?? false);
    if (cached.page) return { page: cached.page, cacheHit: true };
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
    return { page, cacheHit: false };
  }

  async get(caller: AuthUser, id: number): Promise<ActivityResponseDto> {
    const activity = await this.reads.read(
      (db) => this.activities.findById(id, { withDeleted: true, db }),
      [activityWriteScope(caller)],
    );
    return toActivityResponse(this.visible(caller, activity, id));
  }

  /** PENDING -> IN_PROGRESS -> DONE | FAILED; the same status again changes nothing and writes no entry. */
  async updateStatus(caller: AuthUser, id: number, requested: string): Promise<ActivityResponseDto> {
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
      tx.touch('activitiesChanged', current.userId);
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
      await this.outbox.add(tx, 'activity.updated', { data: { ...toActivityResponse(updated) } });
      return updated;
    });
    return toActivityResponse(activity);
  }

  /** Soft delete: it then reads as 404 and leaves lists (but an ADMIN's with includeDeleted=true). */
  async remove(caller: AuthUser, id: number): Promise<ActivityResponseDto> {
    const activity = await this.transactions.run(async (tx) => {
      this.visible(caller, await this.activities.findById(id, { withDeleted: true, tx, lock: true }), id);
      const deleted = await this.activities.update(tx, id, { deletedAt: new Date() });
      tx.touch('activitiesChanged', deleted.userId);
      await this.audit.record(tx, {
        action: 'DELETE',
        entityType: 'ActivityLog',
        entityId: id,
        oldValues: { deletedAt: null },
        newValues: { deletedAt: deleted.deletedAt?.toISOString() ?? null },
      });
      await this.outbox.add(tx, 'activity.deleted', { data: { ...toActivityResponse(deleted) } });
      return deleted;
    });
    return toActivityResponse(activity);
  }

  /** Restoring an activity that is not deleted changes nothing and writes no entry. */
  async restore(caller: AuthUser, id: number): Promise<ActivityResponseDto> {
    const activity = await this.transactions.run(async (tx) => {
      const current = await this.activities.findById(id, { withDeleted: true, tx, lock: true });
      if (!current) throw notFound(id);
      this.ensureMayTouch(caller, current);
      if (!current.deletedAt) return current;
      const restored = await this.activities.update(tx, id, { deletedAt: null });
      tx.touch('activitiesChanged', restored.userId);
      await this.audit.record(tx, {
        action: 'RESTORE',
        entityType: 'ActivityLog',
        entityId: id,
        oldValues: { deletedAt: current.deletedAt.toISOString() },
        newValues: { deletedAt: null },
      });
      await this.outbox.add(tx, 'activity.restored', { data: { ...toActivityResponse(restored) } });
      return restored;
    });
    return toActivityResponse(activity);
  }

  /** The whole filtered list as a streamed download, read from the database in batches as the client takes it. */
  async export(caller: AuthUser, query: ActivityExportQueryDto): Promise<ActivityExport> {
    const format = query.format ?? 'csv';
    const filters = this.filtersFor(caller, query);
    const rows = await this.reads.stream(
      (client) => this.activities.stream(filters, orderOf(query), client),
      [activityWriteScope(caller)],
    );
    return { stream: pipeline(rows, exportEncoder(format), () => undefined), format };
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
      actorId: query.actorId,
      actorEmail: query.actorEmail,
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
