import { performance } from 'node:perf_hooks';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { BackgroundDeferral, BUSY_UTILIZATION } from '../../common/load/background-deferral';
import { Settings } from '../../config/settings';
import { Transactions, Tx } from '../../database/transactions';
import { ActivityLog } from '../activity-log/activity-log.entity';
import { LedgerKey } from './ledger-key';
import { LedgerRepository, NewLeaf, PendingRecord, StoredCheckpoint } from './ledger.repository';
import { activityLeafObject, auditLeafObject, leafText } from './leaves';
import { CompactRange, leafHash } from './merkle';
import { WebhookOutbox } from '../webhooks/outbox/webhook-outbox';
import { checkpointText } from './signed-note';
import { STORED_EVERY } from './tree-reader';

/** Records taken into the tree by one transaction (and one checkpoint). */
export const INTEGRATION_BATCH = 5000;
/** Records read, made into leaves and appended at a time within it. */
const INTEGRATION_CHUNK = 500;

/**
 * Adds committed records to the tree, off the request path: every instance looks every
 * LEDGER_INTEGRATE_INTERVAL_MS, and the one that gets the advisory lock takes a batch of waiting records, appends
 * their leaves (and the complete subtrees they finish), signs a checkpoint of the new size and commits, all in one
 * transaction. A crash anywhere leaves the records waiting; nothing is appended twice.
 */
@Injectable()
export class LedgerIntegrator implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LedgerIntegrator.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopped = false;
  /** The event loop's use since the background loop last finished a turn: how busy requests keep this instance. */
  private sinceTurn = performance.eventLoopUtilization();
  private readonly deferral: BackgroundDeferral;

  constructor(
    private readonly repository: LedgerRepository,
    private readonly transactions: Transactions,
    private readonly key: LedgerKey,
    private readonly settings: Settings,
    private readonly outbox: WebhookOutbox,
  ) {
    this.deferral = new BackgroundDeferral(settings.ledgerMaxDeferMs);
  }

  onApplicationBootstrap(): void {
    this.schedule();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.turn().finally(() => {
        this.sinceTurn = performance.eventLoopUtilization();
        this.schedule();
      });
    }, this.settings.ledgerIntegrateIntervalMs);
    this.timer.unref();
  }

  /**
   * One turn of the background loop. Integration is the deferrable half of a write: while requests keep this
   * instance's event loop more than half busy, it waits (at most LEDGER_MAX_DEFER_MS in a row), so that a burst of
   * writes is taken at full speed and its records reach the tree right after it; then it drains the whole queue.
   */
  private async turn(): Promise<void> {
    const busy = performance.eventLoopUtilization(this.sinceTurn).utilization > BUSY_UTILIZATION;
    if (this.deferral.defer(busy)) return;
    await this.drain();
  }

  /** Integrates until nothing waits (or another instance has the turn); failures are logged and tried next time. */
  async drain(): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        const added = await this.integrateBatch();
        total += added;
        if (added < INTEGRATION_BATCH || this.stopped) return total;
      }
    } catch (error) {
      this.logger.warn(`ledger integration failed, tried again shortly: ${(error as Error).message}`);
      return total;
    }
  }

  /** One transaction: how many records it added (0 when none waited or another instance holds the turn). */
  integrateBatch(): Promise<number> {
    return this.transactions.run(async (tx) => {
      if (!(await this.repository.tryLock(tx))) return 0;
      const pending = await this.repository.takePending(tx, INTEGRATION_BATCH);
      if (!pending.length) return 0;
      // In the order they were recorded.
      pending.sort(
        (a, b) =>
          a.recordedAt.getTime() - b.recordedAt.getTime() || a.kind.localeCompare(b.kind) || a.recordId - b.recordId,
      );
      const state = await this.repository.state(tx);
      const range = CompactRange.of(state.treeSize, state.frontier);
      // A chunk at a time: what one chunk builds is garbage before the next, so it dies young (cheap to collect).
      for (let start = 0; start < pending.length; start += INTEGRATION_CHUNK) {
        const leaves = await this.leavesOf(tx, pending.slice(start, start + INTEGRATION_CHUNK));
        const nodes: { level: number; index: number; hash: Buffer }[] = [];
        const rows: NewLeaf[] = leaves.map((leaf) => {
          const hash = leafHash(leaf.text);
          const row = {
            leafIndex: range.size,
            kind: leaf.kind,
            recordId: leaf.recordId,
            leaf: leaf.text,
            leafHash: hash,
          };
          range.append(hash, (height, index, node) => {
            if (height % STORED_EVERY === 0) nodes.push({ level: height, index, hash: node });
          });
          return row;
        });
        await this.repository.appendLeaves(tx, rows);
        await this.repository.insertNodes(tx, nodes);
      }
      const added = range.size - state.treeSize;
      if (!added) return 0;
      await this.repository.saveState(tx, { treeSize: range.size, frontier: range.frontier });
      await this.sign(tx, range.size, range.root());
      return added;
    });
  }

  /** Signs and stores the checkpoint, and writes its `ledger.checkpoint` event (named by its tree size). */
  private async sign(tx: Tx, treeSize: number, rootHash: Buffer): Promise<StoredCheckpoint> {
    const note = this.key.sign(checkpointText({ origin: this.key.origin, treeSize, rootHash }));
    const checkpoint = await this.repository.insertCheckpoint(tx, { treeSize, rootHash, note });
    await this.outbox.add(tx, 'ledger.checkpoint', { recordId: treeSize });
    return checkpoint;
  }

  /** The leaves of these records, in their order (a record no longer there is skipped). */
  private async leavesOf(
    tx: Tx,
    pending: PendingRecord[],
  ): Promise<{ kind: PendingRecord['kind']; recordId: number; text: string }[]> {
    const keys = (kind: PendingRecord['kind']) =>
      pending
        .filter((record) => record.kind === kind)
        .map((record) => ({ id: record.recordId, at: record.recordedAt }));
    const [activities, entries] = await Promise.all([
      this.repository.activitiesByKey(tx, keys('activity')),
      this.repository.auditEntriesByKey(tx, keys('audit')),
    ]);
    const leaves: { kind: PendingRecord['kind']; recordId: number; text: string }[] = [];
    for (const record of pending) {
      const object =
        record.kind === 'activity'
          ? this.activityLeaf(activities, record)
          : entries.has(record.recordId)
            ? auditLeafObject(entries.get(record.recordId)!)
            : undefined;
      if (!object) {
        this.logger.error(`${record.kind} ${record.recordId} was removed before it reached the ledger`);
        continue;
      }
      leaves.push({ kind: record.kind, recordId: record.recordId, text: leafText(object) });
    }
    return leaves;
  }

  private activityLeaf(activities: Map<number, ActivityLog>, record: PendingRecord) {
    const activity = activities.get(record.recordId);
    return activity && activityLeafObject(activity, record.status ?? activity.status);
  }
}
