import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Readable } from 'node:stream';
import type { PoolClient } from 'pg';
import QueryStream from 'pg-query-stream';
import { Repository } from 'typeorm';
import { Paging } from '../../common/pagination/paging';
import { likePattern, preparedQuery, returnedRows } from '../../database/sql';
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
const INSERT_COLUMN_LIST = INSERT_COLUMNS.map(([, column]) => column).join(', ');
/** One statement for one row or a thousand: each column is one array parameter, unnested in the given order. */
const INSERT_SQL = `INSERT INTO activities (${INSERT_COLUMN_LIST})
  SELECT ${INSERT_COLUMNS.map(([, column]) => (column === 'timestamp' ? 'coalesce(u.timestamp, now())' : `u.${column}`)).join(', ')}
    FROM unnest(${INSERT_COLUMNS.map(([, , type], index) => `$${index + 1}::${type}`).join(', ')})
         WITH ORDINALITY AS u(${INSERT_COLUMN_LIST}, ordinal)
   ORDER BY u.ordinal
  RETURNING *`;

/** The only code that reads or writes activities. */
@Injectable()
export class ActivityLogRepository {
  constructor(@InjectRepository(ActivityLog) private readonly repository: Repository<ActivityLog>) {}

  /**
   * Inserts all rows with one statement (one array parameter per column, `unnest`ed), inside the caller's
   * transaction, and returns them in the order given.
   */
  async insertMany(tx: Tx, rows: NewActivity[]): Promise<ActivityLog[]> {
    const values = INSERT_COLUMNS.map(([property]) =>
      rows.map((row) => {
        const value = row[property];
        if (value === null || value === undefined) return null;
        return JSON_COLUMNS.has(property) ? JSON.stringify(value) : value;
      }),
    );
    const inserted = await preparedQuery<Record<string, unknown>>(tx, INSERT_SQL, values);
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

  /**
   * A page; one row more than `paging.limit` when more follow. Total only in offset mode, counted alongside.
   * This is the hottest read: plain SQL as named prepared statements (planned once per connection), no query builder.
   */
  async list(
    filters: ActivityFilters,
    order: ActivityOrder,
    paging: Paging,
  ): Promise<{ rows: ActivityLog[]; total: number | null }> {
    const where = new SqlWhere();
    this.addFilters(where, filters);
    const count = paging.after
      ? undefined
      : this.prepared<{ n: string }>(`SELECT count(*) AS n FROM activities a ${where.sql}`, where.values);
    const column = `a.${ACTIVITY_SORT_COLUMNS[order.field]}`;
    const cmp = order.direction === 'ASC' ? '>' : '<';
    if (paging.after) {
      const value =
        order.field === 'timestamp' || order.field === 'createdAt'
          ? new Date(String(paging.after.value))
          : paging.after.value;
      where.add(`(${column}, a.id) ${cmp} ($?, $?)`, value, paging.after.id);
    }
    const offset = paging.after ? 0 : ((paging.page ?? 1) - 1) * paging.limit;
    const page = this.prepared<Record<string, unknown>>(
      `SELECT a.* FROM activities a ${where.sql} ORDER BY ${column} ${order.direction}, a.id ${order.direction} LIMIT $${where.values.length + 1} OFFSET $${where.values.length + 2}`,
      [...where.values, paging.limit + 1, offset],
    );
    const [rows, counted] = await Promise.all([page, count]);
    return { rows: rows.map((raw) => this.fromRaw(raw)), total: counted ? Number(counted[0].n) : null };
  }

  private prepared<T extends object>(text: string, values: unknown[]): Promise<T[]> {
    return preparedQuery<T>(this.repository.manager, text, values);
  }

  private addFilters(where: SqlWhere, filters: ActivityFilters): void {
    if (filters.userId !== undefined) where.add('a.user_id = $?', filters.userId);
    if (!filters.includeDeleted) where.add('a.deleted_at IS NULL');
    if (filters.actions?.length === 1) where.add('a.action = $?', filters.actions[0]);
    if ((filters.actions?.length ?? 0) > 1) where.add('a.action = ANY($?)', filters.actions);
    if (filters.status) where.add('a.status = $?', filters.status);
    if (filters.targetType) where.add('a.target_type = $?', filters.targetType);
    if (filters.targetId) where.add('a.target_id = $?', filters.targetId);
    if (filters.source) where.add('a.context_source = $?', filters.source);
    if (filters.from) where.add('a.timestamp >= $?', filters.from);
    if (filters.to) where.add('a.timestamp <= $?', filters.to);
    if (filters.q) {
      const q = likePattern(filters.q);
      where.add('(a.action ILIKE $? OR a.target_name ILIKE $? OR a.context_description ILIKE $?)', q, q, q);
    }
  }

  /**
   * The whole filtered, ordered result for an export, as a stream of `ActivityExportRow`s (see activity-export.ts),
   * read through a server-side cursor in batches on a connection of its own, which goes back to the pool when the
   * stream ends, fails or is destroyed. The next batch is read only as the stream's reader takes rows.
   */
  async stream(filters: ActivityFilters, order: ActivityOrder): Promise<Readable> {
    const where = new SqlWhere();
    this.addFilters(where, filters);
    // The columns of an ActivityExportRow, in its order.
    const columns = [
      'id',
      'user_id',
      'action',
      'status',
      'timestamp',
      'actor_user_id',
      'actor_name',
      'actor_email',
      'actor_role',
      'target_type',
      'target_id',
      'target_model',
      'target_name',
      'context_description',
      'context_source',
      'context_additional_info',
      'metadata',
      'ip_address',
      'user_agent',
      'created_at',
      'updated_at',
    ];
    const column = `a.${ACTIVITY_SORT_COLUMNS[order.field]}`;
    const sql = `SELECT ${columns.map((name) => `a.${name}`).join(', ')} FROM activities a ${where.sql} ORDER BY ${column} ${order.direction}, a.id ${order.direction}`;
    const params = where.values;
    const runner = this.repository.manager.connection.createQueryRunner('slave');
    const client = (await runner.connect()) as PoolClient;
    const rows = client.query(
      new QueryStream(sql, params, {
        // Rows as arrays of PostgreSQL's text: the export writes text, so parsing every time into a Date and every
        // jsonb through JSON.parse (and an entity of them) would only be undone by the encoder, at a cost per row.
        rowMode: 'array',
        types: { getTypeParser: () => (text: string) => text },
        // About two batches are held at a time (one is read ahead). Rows of small batches die young in V8's heap;
        // larger ones live long enough to reach its old space. Peak RSS of a 1M-row export: 185 MB at 500 or 1000
        // rows, 285 MB at 2000, 320 MB at 5000; of three at once: 262 MB at 500, 303 MB at 1000. Not slower at 500.
        batchSize: 500,
      }),
    );
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      void runner.release();
    };
    rows.once('close', release);
    rows.once('error', release);
    rows.once('end', release);
    return rows;
  }

  /** Maps a raw row (snake_case columns) to the entity, as TypeORM would. */
  fromRaw(raw: Record<string, unknown>): ActivityLog {
    const metadata = this.repository.metadata;
    const entity = this.repository.create();
    for (const column of metadata.columns) {
      const value = raw[column.databaseName];
      if (value === undefined) continue;
      const converted: unknown =
        column.transformer && !Array.isArray(column.transformer) ? column.transformer.from(value) : value;
      column.setEntityValue(entity, converted);
    }
    return entity;
  }
}

/** A WHERE clause built from conditions whose `$?` placeholders are numbered as they are added. */
class SqlWhere {
  private readonly conditions: string[] = [];
  readonly values: unknown[] = [];

  add(condition: string, ...values: unknown[]): void {
    let index = 0;
    this.conditions.push(condition.replace(/\$\?/g, () => `$${this.values.push(values[index++])}`));
  }

  get sql(): string {
    return this.conditions.length ? `WHERE ${this.conditions.join(' AND ')}` : '';
  }
}
