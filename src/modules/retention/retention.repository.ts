import { Injectable } from '@nestjs/common';
import { sql } from '../../database/sql';
import { Tx } from '../../database/transactions';

/** One monthly partition of a partitioned table (see migration MonthlyPartitions). */
export interface MonthPartition {
  name: string;
  /** The partition's upper bound (exclusive). */
  until: Date;
}

/** What of the audit trail some partitions hold. */
export interface AuditRange {
  entries: number;
  firstId: number | null;
  lastId: number | null;
}

export type PartitionedTable = 'activities' | 'audit_logs';

/** The SQL of retention: partitions, the rows dated before the oldest month, and the audit chain's base. */
@Injectable()
export class RetentionRepository {
  /** Takes the audit chain's lock for the transaction: no entry is written until it ends. */
  async lockAuditChain(tx: Tx): Promise<void> {
    await sql(tx, 'SELECT 1 FROM audit_chain_head WHERE id = 1 FOR UPDATE');
  }

  /** The monthly partitions of `parent` that end at or before the cutoff, oldest first. */
  async monthsBefore(tx: Tx, parent: PartitionedTable, cutoff: Date): Promise<MonthPartition[]> {
    const rows = await sql<{ name: string }>(
      tx,
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = $1::regclass`,
      [parent],
    );
    // Months are named <parent>_pYYYY_MM by logbook_month_partition and span that UTC month.
    return rows
      .map(({ name }) => ({ name, month: /_p(\d{4})_(\d{2})$/.exec(name) }))
      .filter((row): row is { name: string; month: RegExpExecArray } => row.month !== null)
      .map(({ name, month }) => ({ name, until: new Date(Date.UTC(Number(month[1]), Number(month[2]), 1)) }))
      .filter((month) => month.until.getTime() <= cutoff.getTime())
      .sort((a, b) => a.until.getTime() - b.until.getTime());
  }

  async countRows(tx: Tx, partition: MonthPartition): Promise<number> {
    const [{ count }] = await sql<{ count: string }>(tx, `SELECT count(*) AS count FROM "${partition.name}"`);
    return Number(count);
  }

  /** Activities dated before the oldest month (kept in the DEFAULT partition) and before the cutoff. */
  async countStrayActivities(tx: Tx, cutoff: Date): Promise<number> {
    const [{ count }] = await sql<{ count: string }>(
      tx,
      'SELECT count(*) AS count FROM activities_default WHERE "timestamp" < $1',
      [cutoff],
    );
    return Number(count);
  }

  async deleteStrayActivities(tx: Tx, cutoff: Date): Promise<void> {
    await sql(tx, 'DELETE FROM activities_default WHERE "timestamp" < $1', [cutoff]);
  }

  async dropPartition(tx: Tx, partition: MonthPartition): Promise<void> {
    await sql(tx, `DROP TABLE "${partition.name}"`);
  }

  /** How many audit entries the partitions hold, and their id range. */
  async auditRange(tx: Tx, partitions: MonthPartition[]): Promise<AuditRange> {
    const [range] = await sql<{ entries: string; first: string | null; last: string | null }>(
      tx,
      `SELECT count(*) AS entries, min(id) AS first, max(id) AS last FROM audit_logs
        WHERE tableoid = ANY($1::regclass[])`,
      [partitions.map((partition) => partition.name)],
    );
    return {
      entries: Number(range.entries),
      firstId: range.first === null ? null : Number(range.first),
      lastId: range.last === null ? null : Number(range.last),
    };
  }

  /** Whether an audit entry outside the partitions is older (a smaller id) than `id`. */
  async auditKeptBefore(tx: Tx, id: number, partitions: MonthPartition[]): Promise<boolean> {
    const [{ interleaved }] = await sql<{ interleaved: boolean }>(
      tx,
      `SELECT EXISTS (SELECT 1 FROM audit_logs WHERE id < $1 AND tableoid <> ALL($2::regclass[])) AS interleaved`,
      [id, partitions.map((partition) => partition.name)],
    );
    return interleaved;
  }

  async auditHash(tx: Tx, id: number): Promise<string> {
    const [entry] = await sql<{ hash: string }>(tx, 'SELECT hash FROM audit_logs WHERE id = $1', [id]);
    return entry.hash;
  }

  /** Moves the chain's base to a removed entry: the kept chain is checked from there. */
  async moveAuditChainBase(tx: Tx, id: number, hash: string): Promise<void> {
    await sql(tx, 'UPDATE audit_chain_head SET base_id = $1, base_hash = $2 WHERE id = 1', [id, hash]);
  }
}
