import { Injectable } from '@nestjs/common';
import { Transactions, Tx } from '../../database/transactions';
import { AuditLogService } from '../audit-log/audit-log.service';

/** What one retention run removed (or, dry, would remove). */
export interface RetentionReport {
  olderThan: string;
  activities: { partitions: string[]; rows: number };
  auditLogs: { partitions: string[]; entries: number; firstRemovedId: number | null; lastRemovedId: number | null };
}

interface MonthPartition {
  name: string;
  /** The partition's upper bound (exclusive). */
  until: Date;
}

const ACTOR = { id: null, email: 'cli' };

/**
 * Removes what is older than a cutoff by dropping whole monthly partitions (see migration MonthlyPartitions): a
 * month goes when all of it is older than the cutoff. Activities dated before the oldest month (kept in DEFAULT)
 * are deleted row by row.
 *
 * The audit trail keeps its evidence: in the transaction that drops its months, a `RETENTION` entry records what
 * was removed (how many entries, the id range, the hash of the last one), and the chain head's base moves to that
 * last removed entry, so `/audit-logs/verify` checks the kept chain from there, and checks the base against that
 * entry. Stamps are in id order (audit_log_stamp), so the removed months are always a prefix of the chain; if they
 * were not, nothing is removed.
 */
@Injectable()
export class RetentionService {
  constructor(
    private readonly transactions: Transactions,
    private readonly audit: AuditLogService,
  ) {}

  async removeOlderThan(cutoff: Date, options: { dryRun?: boolean } = {}): Promise<RetentionReport> {
    const olderThan = cutoff.toISOString();
    return this.transactions.run(async (tx) => {
      // The chain's lock first: no entry is written while its months go.
      await tx.query('SELECT 1 FROM audit_chain_head WHERE id = 1 FOR UPDATE');
      const activities = await this.removeActivities(tx, cutoff, olderThan, options.dryRun ?? false);
      const auditLogs = await this.removeAuditLogs(tx, cutoff, olderThan, options.dryRun ?? false);
      return { olderThan, activities, auditLogs };
    });
  }

  private async removeActivities(
    tx: Tx,
    cutoff: Date,
    olderThan: string,
    dryRun: boolean,
  ): Promise<RetentionReport['activities']> {
    const months = await this.monthsBefore(tx, 'activities', cutoff);
    let rows = 0;
    for (const month of months) rows += await this.countRows(tx, month.name);
    const [{ count: strays }] = await tx.query<{ count: string }[]>(
      'SELECT count(*) AS count FROM activities_default WHERE "timestamp" < $1',
      [cutoff],
    );
    rows += Number(strays);
    const report = { partitions: months.map((month) => month.name), rows };
    if (dryRun || rows + months.length === 0) return report;
    await tx.query('DELETE FROM activities_default WHERE "timestamp" < $1', [cutoff]);
    for (const month of months) await tx.query(`DROP TABLE "${month.name}"`);
    await this.audit.record(tx, {
      action: 'RETENTION',
      entityType: 'ActivityLog',
      entityId: null,
      newValues: { olderThan, ...report },
      actor: ACTOR,
    });
    return report;
  }

  private async removeAuditLogs(
    tx: Tx,
    cutoff: Date,
    olderThan: string,
    dryRun: boolean,
  ): Promise<RetentionReport['auditLogs']> {
    const months = await this.monthsBefore(tx, 'audit_logs', cutoff);
    const none = { partitions: [], entries: 0, firstRemovedId: null, lastRemovedId: null };
    if (!months.length) return none;
    const names = months.map((month) => month.name);
    const [removed] = await tx.query<{ entries: string; first: string | null; last: string | null }[]>(
      `SELECT count(*) AS entries, min(id) AS first, max(id) AS last FROM audit_logs
        WHERE tableoid = ANY($1::regclass[])`,
      [names],
    );
    const report = {
      partitions: names,
      entries: Number(removed.entries),
      firstRemovedId: removed.first === null ? null : Number(removed.first),
      lastRemovedId: removed.last === null ? null : Number(removed.last),
    };
    if (report.lastRemovedId !== null) {
      const [{ interleaved }] = await tx.query<{ interleaved: boolean }[]>(
        `SELECT EXISTS (SELECT 1 FROM audit_logs WHERE id < $1 AND tableoid <> ALL($2::regclass[])) AS interleaved`,
        [report.lastRemovedId, names],
      );
      if (interleaved) {
        throw new Error(
          'the audit months to remove are not a prefix of the chain (an entry kept is older than one removed); nothing removed',
        );
      }
    }
    if (dryRun) return report;
    if (report.lastRemovedId !== null) {
      const [last] = await tx.query<{ hash: string }[]>('SELECT hash FROM audit_logs WHERE id = $1', [
        report.lastRemovedId,
      ]);
      await this.audit.record(tx, {
        action: 'RETENTION',
        entityType: 'AuditLog',
        entityId: null,
        newValues: { olderThan, ...report, lastRemovedHash: last.hash },
        actor: ACTOR,
      });
      await tx.query('UPDATE audit_chain_head SET base_id = $1, base_hash = $2 WHERE id = 1', [
        report.lastRemovedId,
        last.hash,
      ]);
    }
    for (const name of names) await tx.query(`DROP TABLE "${name}"`);
    return report;
  }

  /** The monthly partitions of `parent` that end at or before the cutoff, oldest first. */
  private async monthsBefore(tx: Tx, parent: string, cutoff: Date): Promise<MonthPartition[]> {
    const rows = await tx.query<{ name: string }[]>(
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

  private async countRows(tx: Tx, table: string): Promise<number> {
    const [{ count }] = await tx.query<{ count: string }[]>(`SELECT count(*) AS count FROM "${table}"`);
    return Number(count);
  }
}
