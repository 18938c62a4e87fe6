import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Readable } from 'node:stream';
import type { PoolClient } from 'pg';
import { Repository } from 'typeorm';
import { Paging } from '../../common/pagination/paging';
import { NOT_JSON, storedJsonb } from '../../database/jsonb';
import type { ReadDb } from '../../database/read-replicas';
import { hydrate, timestampParser } from '../../database/rows';
import { arrayLiteral, likePattern, sql, SqlWhere, streamSql } from '../../database/sql';
import { Tx } from '../../database/transactions';
import { outboxCte } from '../webhooks/outbox/webhook-outbox';
import { EXPORT_COLUMNS } from './activity-export';
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
  actorId?: string;
  actorEmail?: string;
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
/**
 * One statement for one row or a thousand: each column is one array parameter, unnested in the given order. The
 * same statement queues every row for the ledger (ledger_pending, with the status it was created with), so no
 * activity is stored without reaching the tree, and writes its `activity.created` event while an endpoint asks for
 * it (the webhook outbox).
 */
const insertSql = (returning: string, select: string) => `WITH inserted AS (
  INSERT INTO activities (${INSERT_COLUMN_LIST})
  SELECT ${INSERT_COLUMNS.map(([, column]) => (column === 'timestamp' ? 'coalesce(u.timestamp, now())' : `u.${column}`)).join(', ')}
    FROM unnest(${INSERT_COLUMNS.map(([, , type], index) => `$${index + 1}::${type}`).join(', ')})
         WITH ORDINALITY AS u(${INSERT_COLUMN_LIST}, ordinal)
   ORDER BY u.ordinal
  RETURNING ${returning}
), queued AS (
  INSERT INTO ledger_pending (kind, record_id, recorded_at, status)
  SELECT 'activity', id, "timestamp", status FROM inserted
), evented AS (
  ${outboxCte('activity.created', 'inserted')}
)
SELECT ${select} FROM inserted`;
/**
 * Reads back only what PostgreSQL assigns, when everything else is known to be stored as sent. Timestamps come as
 * text so that the rows' shared values (created_at and updated_at are the statement's now(), and so is the default
 * timestamp) are parsed once per distinct text, not three times per row.
 */
const INSERT_RETURNING_ASSIGNED_SQL = insertSql(
  'id, "timestamp", status, created_at, updated_at',
  'id, "timestamp"::text AS timestamp, created_at::text AS created_at, updated_at::text AS updated_at',
);
const INSERT_RETURNING_ALL_SQL = insertSql('*', '*');

const PREPARED = { prepared: true };

interface AssignedColumns {
  id: string;
  timestamp: string;
  created_at: string;
  updated_at: string;
}

/** The only code that reads or writes activities. */
@Injectable()
export class ActivityLogRepository {
  constructor(@InjectRepository(ActivityLog) private readonly repository: Repository<ActivityLog>) {}

  /**
   * Inserts all rows with one statement (one array parameter per column, `unnest`ed), inside the caller's
   * transaction, and returns them in the order given.
   *
   * Reading every inserted row back (`RETURNING *`: 22 columns to parse, three dates per row, then the entity
   * mapping) took about a third of the CPU of a 1000-row batch, so when PostgreSQL is known to store each value as
   * sent (see `storedJson`) only the columns it assigns are read back and the entities are built from the rows sent;
   * otherwise the whole rows are read back, as before.
   */
  async insertMany(tx: Tx, rows: NewActivity[]): Promise<ActivityLog[]> {
    const values = INSERT_COLUMNS.map(([property]) => columnParameter(rows, property));
    const stored = this.storedJson(rows);
    if (!stored) {
      const inserted = await sql<Record<string, unknown>>(tx, INSERT_RETURNING_ALL_SQL, values, PREPARED);
      return inserted.map((raw) => this.fromRaw(raw)).sort((a, b) => a.id - b.id);
    }
    const assigned = await sql<AssignedColumns>(tx, INSERT_RETURNING_ASSIGNED_SQL, values, PREPARED);
    if (assigned.length !== rows.length) {
      throw new Error(`inserted ${assigned.length} activities for ${rows.length} rows`);
    }
    // The statement numbers the rows in the order given (ORDER BY ordinal), so the n-th smallest id is the n-th row.
    const ids = assigned.map((row) => Number(row.id));
    const order = ids.map((_, index) => index).sort((a, b) => ids[a] - ids[b]);
    const parseTime = timestampParser();
    return order.map((index, position) => {
      const row = assigned[index];
      const entity = Object.assign(new ActivityLog(), rows[position]);
      entity.id = ids[index];
      entity.metadata = stored.metadata[position];
      entity.contextAdditionalInfo = stored.contextAdditionalInfo[position];
      entity.timestamp = parseTime(row.timestamp);
      entity.createdAt = parseTime(row.created_at);
      entity.updatedAt = parseTime(row.updated_at);
      entity.deletedAt = null;
      return entity;
    });
  }

  /**
   * The jsonb values of the rows as PostgreSQL will return them (`storedJsonb`), provided that it stores every text
   * as sent; undefined when that is not certain for some value (then the rows are read back). A text is stored as
   * sent when it is well-formed UTF-16 (a lone surrogate would reach the database as U+FFFD) and has no more code
   * points than its varchar column allows (a longer one is cut to size when the excess is spaces, an error
   * otherwise).
   */
  private storedJson(
    rows: NewActivity[],
  ): { metadata: Record<string, unknown>[]; contextAdditionalInfo: (Record<string, unknown> | null)[] } | undefined {
    const limits = this.textLimits();
    const metadata = new Array<Record<string, unknown>>(rows.length);
    const contextAdditionalInfo = new Array<Record<string, unknown> | null>(rows.length);
    for (let index = 0; index < rows.length; index++) {
      const row = rows[index];
      for (const [property, limit] of limits) {
        const text = row[property];
        if (typeof text !== 'string') continue;
        if (!(text as WellFormed).isWellFormed()) return undefined;
        if (text.length > limit && [...text].length > limit) return undefined;
      }
      const storedMetadata = storedJsonb(row.metadata, 0);
      const storedInfo = row.contextAdditionalInfo === null ? null : storedJsonb(row.contextAdditionalInfo, 0);
      if (storedMetadata === NOT_JSON || storedInfo === NOT_JSON) return undefined;
      metadata[index] = storedMetadata as Record<string, unknown>;
      contextAdditionalInfo[index] = storedInfo as Record<string, unknown> | null;
    }
    return { metadata, contextAdditionalInfo };
  }

  /** The varchar columns the insert writes, with their lengths in characters (code points). */
  private textLimits(): [keyof NewActivity, number][] {
    if (!this.limits) {
      this.limits = [];
      for (const [property] of INSERT_COLUMNS) {
        const column = this.repository.metadata.findColumnWithPropertyName(property);
        if (column?.type === 'varchar' && column.length) this.limits.push([property, Number(column.length)]);
      }
    }
    return this.limits;
  }

  private limits?: [keyof NewActivity, number][];

  /** A live (or, with `withDeleted`, any) activity by id, in the transaction `tx` or where `db` reads. */
  findById(
    id: number,
    options: { withDeleted?: boolean; tx?: Tx; db?: ReadDb; lock?: boolean } = {},
  ): Promise<ActivityLog | null> {
    const manager = options.tx ?? options.db;
    const query = (manager ? manager.getRepository(ActivityLog) : this.repository)
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
    const rows = await sql<Record<string, unknown>>(
      tx,
      `UPDATE activities SET ${set.join(', ')} WHERE id = $1 RETURNING *`,
      params,
    );
    return this.fromRaw(rows[0]);
  }

  /**
   * A page; one row more than `paging.limit` when more follow. Total only in offset mode.
   * This is the hottest read: plain SQL as named prepared statements (planned once per connection), no query
   * builder, and one round trip: in offset mode the total is an uncorrelated scalar subquery, which PostgreSQL runs
   * once (an InitPlan) and repeats on every row.
   *
   * The generic plan PostgreSQL settles on for a prepared statement prunes the monthly partitions only as each run
   * starts; planning each run for its values prunes while planning, but planning over the partitions costs more
   * than it saves (measured: docs/PERFORMANCE.md, "Tried and left out").
   */
  async list(
    filters: ActivityFilters,
    order: ActivityOrder,
    paging: Paging,
    db: ReadDb = this.repository.manager,
  ): Promise<{ rows: ActivityLog[]; total: number | null }> {
    const where = new SqlWhere();
    this.addFilters(where, filters);
    const count = `SELECT count(*) FROM activities a ${where.sql}`;
    const column = `a.${ACTIVITY_SORT_COLUMNS[order.field]}`;
    const cmp = order.direction === 'ASC' ? '>' : '<';
    if (paging.after) {
      const value =
        order.field === 'timestamp' || order.field === 'createdAt'
          ? new Date(String(paging.after.value))
          : paging.after.value;
      where.add(`(${column}, a.id) ${cmp} ($?, $?)`, value, paging.after.id);
      // Implied by the row comparison, but PostgreSQL prunes partitions by plain bounds only: with it, a cursor
      // page reads the months at and before (or after) its position, not all of them.
      if (order.field === 'timestamp') where.add(`${column} ${cmp}= $?`, value);
    }
    const offset = paging.after ? 0 : ((paging.page ?? 1) - 1) * paging.limit;
    const total = paging.after ? '' : `(${count}) AS total_count, `;
    const raw = await sql<Record<string, unknown>>(
      db,
      `SELECT ${total}a.* FROM activities a ${where.sql} ORDER BY ${column} ${order.direction}, a.id ${order.direction} LIMIT $${where.values.length + 1} OFFSET $${where.values.length + 2}`,
      [...where.values, paging.limit + 1, offset],
      PREPARED,
    );
    const rows = raw.map((row) => this.fromRaw(row));
    if (paging.after) return { rows, total: null };
    if (raw.length) return { rows, total: Number(raw[0].total_count) };
    // No row to carry the total: none match at all, or the page is past the end (count them then).
    if (offset === 0) return { rows, total: 0 };
    const [{ count: counted }] = await sql<{ count: string }>(db, count, where.values, PREPARED);
    return { rows, total: Number(counted) };
  }

  private addFilters(where: SqlWhere, filters: ActivityFilters): void {
    if (filters.userId !== undefined) where.add('a.user_id = $?', filters.userId);
    if (!filters.includeDeleted) where.add('a.deleted_at IS NULL');
    if (filters.actions?.length === 1) where.add('a.action = $?', filters.actions[0]);
    if ((filters.actions?.length ?? 0) > 1) where.add('a.action = ANY($?)', filters.actions);
    if (filters.status) where.add('a.status = $?', filters.status);
    if (filters.targetType) where.add('a.target_type = $?', filters.targetType);
    if (filters.targetId) where.add('a.target_id = $?', filters.targetId);
    if (filters.actorId) where.add('a.actor_user_id = $?', filters.actorId);
    if (filters.actorEmail) where.add('lower(a.actor_email) = lower($?)', filters.actorEmail);
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
   * read through a server-side cursor in batches on `client`, a connection of its own that the caller releases when
   * the stream ends, fails or is destroyed (ConsistentReads.stream). The next batch is read only as the stream's
   * reader takes rows.
   */
  stream(filters: ActivityFilters, order: ActivityOrder, client: PoolClient): Readable {
    const where = new SqlWhere();
    this.addFilters(where, filters);
    const column = `a.${ACTIVITY_SORT_COLUMNS[order.field]}`;
    const text = `SELECT ${EXPORT_COLUMNS.map((name) => `a.${name}`).join(', ')} FROM activities a ${where.sql} ORDER BY ${column} ${order.direction}, a.id ${order.direction}`;
    // Rows as arrays of PostgreSQL's text: the export writes text, so parsing every time into a Date and every jsonb
    // through JSON.parse (and an entity of them) would only be undone by the encoder, at a cost per row.
    // About two batches are held at a time (one is read ahead). Rows of small batches die young in V8's heap, larger
    // ones reach its old space: peak memory grew with the batch size past 1000 rows, and 500 was no slower.
    return streamSql(client, text, where.values, 500);
  }

  /** Maps a raw row (snake_case columns) to the entity, as TypeORM would. */
  fromRaw(raw: Record<string, unknown>): ActivityLog {
    return hydrate(this.repository, raw);
  }
}

/**
 * One column's array parameter. A column that is NULL in every row is sent as an empty array: `unnest` pads the
 * shorter arrays with NULLs, which spares building and parsing a thousand NULLs for each unused column.
 */
function columnParameter(rows: NewActivity[], property: keyof NewActivity): string {
  const json = JSON_COLUMNS.has(property);
  let used = false;
  const values = rows.map((row) => {
    const value = row[property];
    if (value === null || value === undefined) return null;
    used = true;
    return json ? JSON.stringify(value) : (value as string | number | Date);
  });
  return used ? arrayLiteral(values) : '{}';
}

/** `String.prototype.isWellFormed` (Node 20), which the ES2023 library typings do not declare yet. */
type WellFormed = string & { isWellFormed(): boolean };
