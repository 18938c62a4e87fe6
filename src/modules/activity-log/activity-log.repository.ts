import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Readable } from 'node:stream';
import type { PoolClient } from 'pg';
import QueryStream from 'pg-query-stream';
import { Repository, SelectQueryBuilder } from 'typeorm';
import { CursorPosition } from '../../common/pagination/cursor';
import { Paging } from '../../common/pagination/paging';
import { likePattern, returnedRows } from '../../database/sql';
import { Tx } from '../../database/transactions';
import { ActivityLog, ActivityStatus, TargetType } from './activity-log.entity';

/** A row to insert: everything but what the database assigns. */
export type NewActivity = Omit<ActivityLog, 'id' | 'createdAt' | 'updatedAt' | 'deletedAt' | 'timestamp'> & {
  timestamp: Date | null;
};

export const ACTIVITY_SORT_COLUMNS = {
  timestamp: 'timestamp',
  createdAt: 'created_at',
  action: 'action',
  status: 'status',
} as const;
export type ActivitySortField = keyof typeof ACTIVITY_SORT_COLUMNS;

export interface ActivityFilters {
  /** Unset: every user's (ADMIN). */
  userId?: number;
  actions?: string[];
  status?: ActivityStatus;
  targetType?: TargetType;
  targetId?: string;
  source?: string;
  from?: Date;
  to?: Date;
  q?: string;
  includeDeleted: boolean;
}

export interface ActivityOrder {
  field: ActivitySortField;
  direction: 'ASC' | 'DESC';
}

/** Insert columns, in order, with the PostgreSQL array type each is sent as. */
const INSERT_COLUMNS: [keyof NewActivity, string, string][] = [
  ['userId', 'user_id', 'bigint[]'],
  ['action', 'action', 'varchar[]'],
  ['status', 'status', 'varchar[]'],
  ['metadata', 'metadata', 'jsonb[]'],
  ['actorUserId', 'actor_user_id', 'varchar[]'],
  ['actorName', 'actor_name', 'varchar[]'],
  ['actorEmail', 'actor_email', 'varchar[]'],
  ['actorRole', 'actor_role', 'varchar[]'],
  ['targetType', 'target_type', 'varchar[]'],
  ['targetId', 'target_id', 'varchar[]'],
  ['targetModel', 'target_model', 'varchar[]'],
  ['targetName', 'target_name', 'varchar[]'],
  ['contextDescription', 'context_description', 'varchar[]'],
  ['contextSource', 'context_source', 'varchar[]'],
  ['contextAdditionalInfo', 'context_additional_info', 'jsonb[]'],
  ['ipAddress', 'ip_address', 'varchar[]'],
  ['userAgent', 'user_agent', 'varchar[]'],
  ['timestamp', 'timestamp', 'timestamptz[]'],
];
const JSON_COLUMNS = new Set<keyof NewActivity>(['metadata', 'contextAdditionalInfo']);

/** The only code that reads or writes activities. */
@Injectable()
export class ActivityLogRepository {
  constructor(@InjectRepository(ActivityLog) private readonly repository: Repository<ActivityLog>) {}

  /**
   * Inserts all rows with one statement (one array parameter per column, `unnest`ed), inside the caller's
   * transaction, and returns them in the order given.
   */
  async insertMany(tx: Tx, rows: NewActivity[]): Promise<ActivityLog[]> {
    const columns = INSERT_COLUMNS.map(([, column]) => column).join(', ');
    const unnest = INSERT_COLUMNS.map(([, , type], index) => `$${index + 1}::${type}`).join(', ');
    const values = INSERT_COLUMNS.map(([property]) =>
      rows.map((row) => {
        const value = row[property];
        if (value === null || value === undefined) return null;
        return JSON_COLUMNS.has(property) ? JSON.stringify(value) : value;
      }),
    );
    const inserted: Record<string, unknown>[] = await tx.query(
      `INSERT INTO activities (${columns})
       SELECT ${INSERT_COLUMNS.map(([, column]) => (column === 'timestamp' ? `coalesce(u.timestamp, now())` : `u.${column}`)).join(', ')}
         FROM unnest(${unnest}) WITH ORDINALITY AS u(${columns}, ordinal)
        ORDER BY u.ordinal
       RETURNING *`,
      values,
    );
    return inserted.map((raw) => this.fromRaw(raw)).sort((a, b) => a.id - b.id);
  }

  /** A live (or, with `withDeleted`, any) activity by id. */
  findById(id: number, options: { withDeleted?: boolean; tx?: Tx; lock?: boolean } = {}): Promise<ActivityLog | null> {
    const query = (options.tx ? options.tx.getRepository(ActivityLog) : this.repository)
      .createQueryBuilder('a')
      .where('a.id = :id', { id });
    if (!options.withDeleted) query.andWhere('a.deleted_at IS NULL');
    if (options.lock) query.setLock('pessimistic_write');
    return query.getOne();
  }

  async update(
    tx: Tx,
    id: number,
    changes: { status?: ActivityStatus; deletedAt?: Date | null },
  ): Promise<ActivityLog> {
    const set: string[] = ['updated_at = now()'];
    const params: unknown[] = [id];
    if (changes.status !== undefined) set.push(`status = $${params.push(changes.status)}`);
    if (changes.deletedAt !== undefined) set.push(`deleted_at = ${changes.deletedAt === null ? 'NULL' : 'now()'}`);
    const rows = returnedRows<Record<string, unknown>>(
      await tx.query(`UPDATE activities SET ${set.join(', ')} WHERE id = $1 RETURNING *`, params),
    );
    return this.fromRaw(rows[0]);
  }

  /** A page; one row more than `paging.limit` when more follow. Total only in offset mode. */
  async list(
    filters: ActivityFilters,
    order: ActivityOrder,
    paging: Paging,
  ): Promise<{ rows: ActivityLog[]; total: number | null }> {
    const query = this.filtered(filters);
    // count(*) rather than getCount(): TypeORM counts DISTINCT (id, timestamp), which sorts every matching row.
    const total = paging.after
      ? null
      : Number((await query.clone().select('count(*)', 'n').getRawOne<{ n: string }>())?.n ?? 0);
    const column = `a.${ACTIVITY_SORT_COLUMNS[order.field]}`;
    if (paging.after) applyKeyset(query, column, order, paging.after);
    query
      .orderBy(column, order.direction)
      .addOrderBy('a.id', order.direction)
      .limit(paging.limit + 1);
    if (!paging.after) query.offset(((paging.page ?? 1) - 1) * paging.limit);
    return { rows: await query.getMany(), total };
  }

  /**
   * The whole filtered, ordered result as a stream of entities, read through a server-side cursor in batches on a
   * connection of its own, which goes back to the pool when the stream ends, fails or is destroyed.
   */
  async stream(filters: ActivityFilters, order: ActivityOrder): Promise<Readable> {
    const column = `a.${ACTIVITY_SORT_COLUMNS[order.field]}`;
    const [sql, params] = this.filtered(filters)
      .orderBy(column, order.direction)
      .addOrderBy('a.id', order.direction)
      .getQueryAndParameters();
    const runner = this.repository.manager.connection.createQueryRunner('slave');
    const client = (await runner.connect()) as PoolClient;
    const rows = client.query(new QueryStream(sql, params, { batchSize: 1000 }));
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      void runner.release();
    };
    rows.once('close', release);
    rows.once('error', release);
    rows.once('end', release);
    return rows.map((raw: Record<string, unknown>) => this.fromRaw(raw, 'a_'));
  }

  /** Maps a raw row (snake_case columns, optionally prefixed by a query alias) to the entity, as TypeORM would. */
  fromRaw(raw: Record<string, unknown>, prefix = ''): ActivityLog {
    const metadata = this.repository.metadata;
    const entity = this.repository.create();
    for (const column of metadata.columns) {
      const value = raw[`${prefix}${column.databaseName}`];
      if (value === undefined) continue;
      const converted: unknown =
        column.transformer && !Array.isArray(column.transformer) ? column.transformer.from(value) : value;
      column.setEntityValue(entity, converted);
    }
    return entity;
  }

  private filtered(filters: ActivityFilters): SelectQueryBuilder<ActivityLog> {
    const query = this.repository.createQueryBuilder('a');
    if (filters.userId !== undefined) query.andWhere('a.user_id = :userId', { userId: filters.userId });
    if (!filters.includeDeleted) query.andWhere('a.deleted_at IS NULL');
    if (filters.actions?.length === 1) query.andWhere('a.action = :action', { action: filters.actions[0] });
    if ((filters.actions?.length ?? 0) > 1) query.andWhere('a.action IN (:...actions)', { actions: filters.actions });
    if (filters.status) query.andWhere('a.status = :status', { status: filters.status });
    if (filters.targetType) query.andWhere('a.target_type = :targetType', { targetType: filters.targetType });
    if (filters.targetId) query.andWhere('a.target_id = :targetId', { targetId: filters.targetId });
    if (filters.source) query.andWhere('a.context_source = :source', { source: filters.source });
    if (filters.from) query.andWhere('a.timestamp >= :from', { from: filters.from });
    if (filters.to) query.andWhere('a.timestamp <= :to', { to: filters.to });
    if (filters.q) {
      query.andWhere('(a.action ILIKE :q OR a.target_name ILIKE :q OR a.context_description ILIKE :q)', {
        q: likePattern(filters.q),
      });
    }
    return query;
  }
}

function applyKeyset(
  query: SelectQueryBuilder<ActivityLog>,
  column: string,
  order: ActivityOrder,
  after: CursorPosition,
): void {
  const cmp = order.direction === 'ASC' ? '>' : '<';
  const value =
    order.field === 'timestamp' || order.field === 'createdAt' ? new Date(String(after.value)) : after.value;
  query.andWhere(`(${column}, a.id) ${cmp} (:afterValue, :afterId)`, { afterValue: value, afterId: after.id });
}
