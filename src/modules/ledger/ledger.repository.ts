import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { hydrate } from '../../database/rows';
import { sql } from '../../database/sql';
import { Tx } from '../../database/transactions';
import { ActivityLog, ActivityStatus } from '../activity-log/activity-log.entity';
import { AuditLog } from '../audit-log/audit-log.entity';
import type { LeafKind } from './leaves';

/** A record waiting for its leaf. */
export interface PendingRecord {
  kind: LeafKind;
  recordId: number;
  recordedAt: Date;
  /** An activity's status as created. */
  status: ActivityStatus | null;
}

export interface NewLeaf {
  leafIndex: number;
  kind: LeafKind;
  recordId: number;
  leaf: string;
  leafHash: Buffer;
}

export type StoredLeaf = NewLeaf;

export interface StoredCheckpoint {
  treeSize: number;
  rootHash: Buffer;
  note: string;
  createdAt: Date;
}

export interface TreeState {
  treeSize: number;
  /** The compact range's hashes, largest subtree first. */
  frontier: Buffer[];
}

/** A recorded status change or deletion of an activity, as its audit entries tell it. */
export interface ActivityHistory {
  status: ActivityStatus | null;
  deleted: boolean | null;
}

/** See {@link LedgerRepository.retentionRecord}. */
export interface RetentionRecord {
  droppedMonths: Set<string>;
  strayCutoff: Date | null;
  monthsNow: Set<string>;
  auditUpTo: number | null;
}

/** The first and last time of records looked up by key: the months PostgreSQL reads (records of one batch are close). */
function timeSpan(keys: { at: Date }[]): [Date, Date] {
  let first = keys[0].at;
  let last = keys[0].at;
  for (const { at } of keys) {
    if (at < first) first = at;
    if (at > last) last = at;
  }
  return [first, last];
}

/** `YYYY_MM` of a month partition's name (`<table>_pYYYY_MM`). */
const monthOf = (name: string): string | undefined => /_p(\d{4}_\d{2})$/.exec(name)?.[1];

/** Whether retention removed an activity dated `timestamp`: in a month it dropped, or kept outside any month. */
export function removedByRetention(record: RetentionRecord, timestamp: Date): boolean {
  const month = `${timestamp.getUTCFullYear()}_${String(timestamp.getUTCMonth() + 1).padStart(2, '0')}`;
  if (record.droppedMonths.has(month)) return true;
  return !record.monthsNow.has(month) && record.strayCutoff !== null && timestamp < record.strayCutoff;
}

const LOCK = [4242003, 1];

interface CheckpointRow {
  tree_size: string;
  root_hash: Buffer;
  note: string;
  created_at: Date;
}

interface LeafRow {
  leaf_index: string;
  kind: LeafKind;
  record_id: string;
  leaf: string;
  leaf_hash: Buffer;
}

const toCheckpoint = (row: CheckpointRow): StoredCheckpoint => ({
  treeSize: Number(row.tree_size),
  rootHash: row.root_hash,
  note: row.note,
  createdAt: row.created_at,
});

const toLeaf = (row: LeafRow): StoredLeaf => ({
  leafIndex: Number(row.leaf_index),
  kind: row.kind,
  recordId: Number(row.record_id),
  leaf: row.leaf,
  leafHash: row.leaf_hash,
});

/** The only code that reads or writes the ledger's tables (migration Ledger). */
@Injectable()
export class LedgerRepository {
  constructor(
    @InjectRepository(ActivityLog) private readonly activities: Repository<ActivityLog>,
    @InjectRepository(AuditLog) private readonly auditLogs: Repository<AuditLog>,
  ) {}

  private get db(): EntityManager {
    return this.activities.manager;
  }

  /** Where the ledger reads records: the primary, never a replica that may lag behind the tree. */
  primary(): EntityManager {
    return this.db;
  }

  /** The integrator's turn: false when another instance is integrating now. Held until `tx` ends. */
  async tryLock(tx: Tx): Promise<boolean> {
    const [{ locked }] = await sql<{ locked: boolean }>(tx, 'SELECT pg_try_advisory_xact_lock($1, $2) AS locked', LOCK);
    return locked;
  }

  /** Takes up to `limit` waiting records out of the queue (back in it if `tx` rolls back). */
  async takePending(tx: Tx, limit: number): Promise<PendingRecord[]> {
    const rows = await sql<{ kind: LeafKind; record_id: string; recorded_at: Date; status: ActivityStatus | null }>(
      tx,
      `DELETE FROM ledger_pending WHERE ctid = ANY(ARRAY(SELECT ctid FROM ledger_pending LIMIT $1))
       RETURNING kind, record_id, recorded_at, status`,
      [limit],
    );
    return rows.map((row) => ({
      kind: row.kind,
      recordId: Number(row.record_id),
      recordedAt: row.recorded_at,
      status: row.status,
    }));
  }

  async pendingCount(): Promise<number> {
    const [{ count }] = await sql<{ count: string }>(this.db, 'SELECT count(*) AS count FROM ledger_pending');
    return Number(count);
  }

  /** Whether a record still waits for its leaf. */
  async isPending(kind: LeafKind, recordId: number): Promise<boolean> {
    const rows = await sql(this.db, 'SELECT 1 FROM ledger_pending WHERE kind = $1 AND record_id = $2 LIMIT 1', [
      kind,
      recordId,
    ]);
    return rows.length > 0;
  }

  async state(tx: Tx): Promise<TreeState> {
    const [row] = await sql<{ tree_size: string; frontier: Buffer }>(
      tx,
      'SELECT tree_size, frontier FROM ledger_state WHERE id = 1 FOR UPDATE',
    );
    const frontier: Buffer[] = [];
    for (let offset = 0; offset < row.frontier.length; offset += 32) {
      frontier.push(row.frontier.subarray(offset, offset + 32));
    }
    return { treeSize: Number(row.tree_size), frontier };
  }

  async saveState(tx: Tx, state: TreeState): Promise<void> {
    await sql(tx, 'UPDATE ledger_state SET tree_size = $1, frontier = $2 WHERE id = 1', [
      state.treeSize,
      Buffer.concat(state.frontier),
    ]);
  }

  /**
   * The rows travel as one JSON array (one native JSON.stringify) rather than as five PostgreSQL arrays, whose
   * element-by-element escaping in the driver cost more than everything else integration does.
   */
  async appendLeaves(tx: Tx, leaves: NewLeaf[]): Promise<void> {
    if (!leaves.length) return;
    await sql(
      tx,
      `INSERT INTO ledger_leaves (leaf_index, kind, record_id, leaf, leaf_hash)
       SELECT r.i, r.k, r.r, r.l, decode(r.h, 'hex')
         FROM json_to_recordset($1::json) AS r(i bigint, k varchar, r bigint, l text, h text)`,
      [
        JSON.stringify(
          leaves.map((leaf) => ({
            i: leaf.leafIndex,
            k: leaf.kind,
            r: leaf.recordId,
            l: leaf.leaf,
            h: leaf.leafHash.toString('hex'),
          })),
        ),
      ],
    );
  }

  async insertNodes(tx: Tx, nodes: { level: number; index: number; hash: Buffer }[]): Promise<void> {
    if (!nodes.length) return;
    await sql(
      tx,
      `INSERT INTO ledger_nodes (level, node_index, hash)
       SELECT r.v, r.i, decode(r.h, 'hex') FROM json_to_recordset($1::json) AS r(v smallint, i bigint, h text)`,
      [JSON.stringify(nodes.map((node) => ({ v: node.level, i: node.index, h: node.hash.toString('hex') })))],
    );
  }

  async insertCheckpoint(tx: Tx, checkpoint: Omit<StoredCheckpoint, 'createdAt'>): Promise<StoredCheckpoint> {
    const [row] = await sql<CheckpointRow>(
      tx,
      `INSERT INTO ledger_checkpoints (tree_size, root_hash, note) VALUES ($1, $2, $3)
       RETURNING tree_size, root_hash, note, created_at`,
      [checkpoint.treeSize, checkpoint.rootHash, checkpoint.note],
    );
    return toCheckpoint(row);
  }

  /** The latest checkpoint, or the one of `treeSize`. */
  async checkpoint(treeSize?: number): Promise<StoredCheckpoint | undefined> {
    const rows = await sql<CheckpointRow>(
      this.db,
      treeSize === undefined
        ? 'SELECT * FROM ledger_checkpoints ORDER BY tree_size DESC LIMIT 1'
        : 'SELECT * FROM ledger_checkpoints WHERE tree_size = $1',
      treeSize === undefined ? [] : [treeSize],
    );
    return rows[0] && toCheckpoint(rows[0]);
  }

  /** Checkpoints larger than `after` and at most `upTo`, by size, `limit` at a time. */
  async checkpointsBetween(after: number, upTo: number, limit: number): Promise<StoredCheckpoint[]> {
    const rows = await sql<CheckpointRow>(
      this.db,
      'SELECT * FROM ledger_checkpoints WHERE tree_size > $1 AND tree_size <= $2 ORDER BY tree_size LIMIT $3',
      [after, upTo, limit],
    );
    return rows.map(toCheckpoint);
  }

  async leafOf(kind: LeafKind, recordId: number): Promise<StoredLeaf | undefined> {
    const rows = await sql<LeafRow>(this.db, 'SELECT * FROM ledger_leaves WHERE kind = $1 AND record_id = $2', [
      kind,
      recordId,
    ]);
    return rows[0] && toLeaf(rows[0]);
  }

  /** Leaves `start` (inclusive) to `end` (exclusive), in order. */
  async leaves(start: number, end: number): Promise<StoredLeaf[]> {
    const rows = await sql<LeafRow>(
      this.db,
      'SELECT * FROM ledger_leaves WHERE leaf_index >= $1 AND leaf_index < $2 ORDER BY leaf_index',
      [start, end],
    );
    return rows.map(toLeaf);
  }

  /** The stored hashes of one level from `start` to `end` (exclusive): leaf hashes at level 0, else ledger_nodes. */
  async hashes(level: number, start: number, end: number): Promise<Map<number, Buffer>> {
    const rows =
      level === 0
        ? await sql<{ position: string; hash: Buffer }>(
            this.db,
            `SELECT leaf_index AS position, leaf_hash AS hash FROM ledger_leaves
              WHERE leaf_index >= $1 AND leaf_index < $2`,
            [start, end],
          )
        : await sql<{ position: string; hash: Buffer }>(
            this.db,
            `SELECT node_index AS position, hash FROM ledger_nodes
              WHERE level = $1 AND node_index >= $2 AND node_index < $3`,
            [level, start, end],
          );
    return new Map(rows.map((row) => [Number(row.position), row.hash]));
  }

  /**
   * Runs of stored hashes of several levels in one query, keyed `level/index`. `OFFSET 0` keeps each run a range
   * scan of the primary key (else PostgreSQL may join the runs against a scan of the whole table).
   */
  async hashSpans(spans: { level: number; start: number; end: number }[]): Promise<Map<string, Buffer>> {
    if (!spans.length) return new Map();
    const leaves = spans.filter((span) => span.level === 0);
    const nodes = spans.filter((span) => span.level > 0);
    const rows = await sql<{ level: number; position: string; hash: Buffer }>(
      this.db,
      `SELECT 0 AS level, l.leaf_index AS position, l.leaf_hash AS hash
         FROM unnest($1::bigint[], $2::bigint[]) AS r(lo, hi)
         CROSS JOIN LATERAL (SELECT leaf_index, leaf_hash FROM ledger_leaves
                              WHERE leaf_index >= r.lo AND leaf_index < r.hi OFFSET 0) l
       UNION ALL
       SELECT r.level, n.node_index, n.hash
         FROM unnest($3::smallint[], $4::bigint[], $5::bigint[]) AS r(level, lo, hi)
         CROSS JOIN LATERAL (SELECT node_index, hash FROM ledger_nodes
                              WHERE level = r.level AND node_index >= r.lo AND node_index < r.hi OFFSET 0) n`,
      [
        leaves.map((span) => span.start),
        leaves.map((span) => span.end),
        nodes.map((span) => span.level),
        nodes.map((span) => span.start),
        nodes.map((span) => span.end),
      ],
    );
    return new Map(rows.map((row) => [`${row.level}/${Number(row.position)}`, row.hash]));
  }

  /** Activities by id, each with its `timestamp` (which prunes the months read). */
  async activitiesByKey(db: EntityManager, keys: { id: number; at: Date }[]): Promise<Map<number, ActivityLog>> {
    if (!keys.length) return new Map();
    const rows = await sql<Record<string, unknown>>(
      db,
      'SELECT * FROM activities WHERE id = ANY($1::bigint[]) AND "timestamp" BETWEEN $2 AND $3',
      [keys.map((key) => key.id), ...timeSpan(keys)],
    );
    const found = rows.map((row) => hydrate(this.activities, row));
    return new Map(found.map((activity) => [activity.id, activity]));
  }

  /** Audit entries by id, each with its `created_at` (which prunes the months read). */
  async auditEntriesByKey(db: EntityManager, keys: { id: number; at: Date }[]): Promise<Map<number, AuditLog>> {
    if (!keys.length) return new Map();
    const rows = await sql<Record<string, unknown>>(
      db,
      'SELECT * FROM audit_logs WHERE id = ANY($1::bigint[]) AND created_at BETWEEN $2 AND $3',
      [keys.map((key) => key.id), ...timeSpan(keys)],
    );
    const found = rows.map((row) => hydrate(this.auditLogs, row));
    return new Map(found.map((entry) => [entry.id, entry]));
  }

  /** What the audit trail says last about the status and the deletion of each activity (null: nothing). */
  async activityHistories(ids: number[]): Promise<Map<number, ActivityHistory>> {
    if (!ids.length) return new Map();
    const rows = await sql<{ entity_id: string; action: string; status: ActivityStatus | null }>(
      this.db,
      `SELECT entity_id, action, new_values->>'status' AS status FROM audit_logs
        WHERE entity_type = 'ActivityLog' AND entity_id = ANY($1::varchar[])
          AND action IN ('UPDATE', 'DELETE', 'RESTORE')
        ORDER BY id`,
      [ids.map(String)],
    );
    const histories = new Map<number, ActivityHistory>();
    for (const row of rows) {
      const id = Number(row.entity_id);
      const history = histories.get(id) ?? { status: null, deleted: null };
      if (row.action === 'UPDATE' && row.status) history.status = row.status;
      if (row.action === 'DELETE') history.deleted = true;
      if (row.action === 'RESTORE') history.deleted = false;
      histories.set(id, history);
    }
    return histories;
  }

  /**
   * What retention removed, as its RETENTION entries name it: the activity months it dropped (`YYYY_MM`), the
   * latest cutoff under which it also deleted activities kept outside any month (DEFAULT), the month partitions
   * that exist now, and the last audit entry it removed.
   */
  async retentionRecord(): Promise<RetentionRecord> {
    const entries = await sql<{ entity_type: string; new_values: Record<string, unknown> }>(
      this.db,
      `SELECT entity_type, new_values FROM audit_logs WHERE action = 'RETENTION' ORDER BY id`,
    );
    const partitions = await sql<{ name: string }>(
      this.db,
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'activities'::regclass`,
    );
    const record: RetentionRecord = {
      droppedMonths: new Set(),
      strayCutoff: null,
      monthsNow: new Set(partitions.map((row) => monthOf(row.name)).filter((month): month is string => !!month)),
      auditUpTo: null,
    };
    for (const { entity_type: entity, new_values: values } of entries) {
      if (entity === 'ActivityLog') {
        for (const name of Array.isArray(values.partitions) ? values.partitions : []) {
          const month = typeof name === 'string' ? monthOf(name) : undefined;
          if (month) record.droppedMonths.add(month);
        }
        const cutoff = typeof values.olderThan === 'string' ? new Date(values.olderThan) : undefined;
        if (cutoff && !Number.isNaN(cutoff.getTime()) && (!record.strayCutoff || cutoff > record.strayCutoff)) {
          record.strayCutoff = cutoff;
        }
      } else if (entity === 'AuditLog' && typeof values.lastRemovedId === 'number') {
        record.auditUpTo = Math.max(record.auditUpTo ?? 0, values.lastRemovedId);
      }
    }
    return record;
  }
}
