import { Injectable } from '@nestjs/common';
import { Transactions, Tx } from '../../database/transactions';
import { AuditLogService } from '../audit-log/audit-log.service';
import { RetentionRepository } from './retention.repository';

/** What one retention run removed (or, dry, would remove). */
export interface RetentionReport {
  olderThan: string;
  activities: { partitions: string[]; rows: number };
  auditLogs: { partitions: string[]; entries: number; firstRemovedId: number | null; lastRemovedId: number | null };
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
    private readonly retention: RetentionRepository,
  ) {}

  async removeOlderThan(cutoff: Date, options: { dryRun?: boolean } = {}): Promise<RetentionReport> {
    const olderThan = cutoff.toISOString();
    return this.transactions.run(async (tx) => {
      // The chain's lock first: no entry is written while its months go.
      await this.retention.lockAuditChain(tx);
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
    const months = await this.retention.monthsBefore(tx, 'activities', cutoff);
    let rows = 0;
    for (const month of months) rows += await this.retention.countRows(tx, month);
    rows += await this.retention.countStrayActivities(tx, cutoff);
    const report = { partitions: months.map((month) => month.name), rows };
    if (dryRun || rows + months.length === 0) return report;
    await this.retention.deleteStrayActivities(tx, cutoff);
    for (const month of months) await this.retention.dropPartition(tx, month);
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
    const months = await this.retention.monthsBefore(tx, 'audit_logs', cutoff);
    const none = { partitions: [], entries: 0, firstRemovedId: null, lastRemovedId: null };
    if (!months.length) return none;
    const range = await this.retention.auditRange(tx, months);
    const report = {
      partitions: months.map((month) => month.name),
      entries: range.entries,
      firstRemovedId: range.firstId,
      lastRemovedId: range.lastId,
    };
    if (report.lastRemovedId !== null && (await this.retention.auditKeptBefore(tx, report.lastRemovedId, months))) {
      throw new Error(
        'the audit months to remove are not a prefix of the chain (an entry kept is older than one removed); nothing removed',
      );
    }
    if (dryRun) return report;
    if (report.lastRemovedId !== null) {
      const lastRemovedHash = await this.retention.auditHash(tx, report.lastRemovedId);
      await this.audit.record(tx, {
        action: 'RETENTION',
        entityType: 'AuditLog',
        entityId: null,
        newValues: { olderThan, ...report, lastRemovedHash },
        actor: ACTOR,
      });
      await this.retention.moveAuditChainBase(tx, report.lastRemovedId, lastRemovedHash);
    }
    for (const month of months) await this.retention.dropPartition(tx, month);
    return report;
  }
}
