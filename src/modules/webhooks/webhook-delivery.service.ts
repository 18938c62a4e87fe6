import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Pool } from 'pg';
import PgBoss from 'pg-boss';
import { DataSource, EntityManager } from 'typeorm';
import { AppSecrets } from '../../config/secrets';
import { Settings } from '../../config/settings';
import { pgTarget, primaryPool } from '../../database/pg-access';
import { sql } from '../../database/sql';
import { Transactions, Tx } from '../../database/transactions';
import { ActivityLog } from '../activity-log/activity-log.entity';
import { toActivityResponse } from '../activity-log/dto/activity-response.dto';
import { AuditLog } from '../audit-log/audit-log.entity';
import { AuditLogService } from '../audit-log/audit-log.service';
import { toAuditLogResponse } from '../audit-log/dto/audit-log-response.dto';
import { LedgerService } from '../ledger/ledger.service';
import { ALL_EVENTS } from './webhook-events';
import { LiveEndpoint, StoredEvent, WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { openSecret } from './webhook-secrets';
import { sendWebhook } from './webhook-sender';
import { webhookSignature } from './webhook-signature';

/** The pg-boss queue of delivery attempts: one job per attempt of one event at one endpoint. */
export const DELIVERY_QUEUE = 'webhook-delivery';
/** How often each instance looks for events to dispatch, besides right after its own commits. */
const DISPATCH_INTERVAL_MS = 500;
const DISPATCH_BATCH = 500;
/** A replay sends at most this many events; a wider window takes several replays. */
export const REPLAY_LIMIT = 10_000;

interface DeliveryJob {
  endpointId: number;
  eventId: number;
  /** Null: the attempt after the last one made (a replay). */
  attempt: number | null;
}

/**
 * Delivery of the outbox's events: at least once, by any instance, one at a time per attempt.
 *
 * - Dispatch: every instance, right after its own commits and every 500 ms, takes the events not dispatched yet
 *   (`FOR UPDATE SKIP LOCKED`, so instances never take the same one) and, in the same transaction, queues one
 *   delivery job per event and endpoint that asks for its type. A crash before the commit leaves the events to be
 *   taken again; after it, the jobs are queued.
 * - Delivery: pg-boss's workers (on every instance) take the jobs; a job is active on one worker at a time. A worker
 *   that dies with it leaves it active until it expires (60 s), then pg-boss gives it to another. Each attempt is a
 *   row of the attempt log; a failed one queues the next attempt, after the step of WEBHOOK_RETRY_SCHEDULE, in the
 *   transaction that records it.
 *
 * pg-boss (a PostgreSQL job queue on this database, in its own schema `pgboss`) does the taking, the locking, the
 * delays and the recovery of jobs whose worker died; its own retries only cover such crashes.
 */
@Injectable()
export class WebhookDeliveryService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebhookDeliveryService.name);
  private boss?: PgBoss;
  private bossPool?: Pool;
  private workerId?: string;
  private timer?: NodeJS.Timeout;
  private dispatching?: Promise<void>;
  private dispatchAgain = false;
  private stopping = false;
  /** Set once pg-boss started: see {@link bossSql}. */
  private lenient = false;
  /** Set once pg-boss stopped: its late statements go nowhere (its pool is closed). */
  private closed = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly transactions: Transactions,
    private readonly settings: Settings,
    private readonly secrets: AppSecrets,
    private readonly audit: AuditLogService,
    private readonly ledger: LedgerService,
  ) {
    for (const topic of ['webhookEventAdded', 'activityCreated', 'auditEntryAdded'] as const) {
      transactions.onCommit(topic, () => this.dispatchSoon());
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    // A few connections of its own beside the app's pool: polling for jobs never waits behind requests, nor they
    // behind it.
    this.bossPool = new Pool({ ...primaryPool(this.dataSource).options, max: 3 });
    this.bossPool.on('error', (error: Error) => this.logger.warn(`webhook job queue connection: ${error.message}`));
    const boss = new PgBoss({
      db: { executeSql: (text: string, values?: unknown[]) => this.bossSql(text, values) },
      maintenanceIntervalSeconds: 10,
      archiveCompletedAfterSeconds: 3600,
    });
    boss.on('error', (error: Error) => this.logger.warn(`webhook job queue: ${error.message}`));
    await boss.start();
    await boss.createQueue(DELIVERY_QUEUE, {
      name: DELIVERY_QUEUE,
      retryLimit: 10,
      retryDelay: 5,
      expireInSeconds: 60,
    });
    this.boss = boss;
    this.lenient = true;
    this.workerId = await boss.work<DeliveryJob>(
      DELIVERY_QUEUE,
      { batchSize: 20, pollingIntervalSeconds: 0.5 },
      (jobs) => this.deliverAll(jobs),
    );
    this.timer = setInterval(() => this.dispatchSoon(), DISPATCH_INTERVAL_MS);
    this.timer.unref();
    this.dispatchSoon();
  }

  /**
   * pg-boss's own statements (taking, completing and expiring jobs), on its pool. Once started, one that fails (the
   * database restarting, or the pool closed at shutdown) is logged and answered with no result instead of rejecting:
   * pg-boss completes a job without waiting for the answer, and a rejection there would end the process. A job whose
   * completion was lost stays active, expires, and runs again: at least once still holds.
   */
  private async bossSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> {
    try {
      if (this.closed) throw new Error('stopped');
      return await this.bossPool!.query(text, values);
    } catch (error) {
      if (!this.lenient) throw error;
      if (!this.closed) this.logger.warn(`webhook job queue: ${(error as Error).message}`);
      // No result at all: pg-boss reads that as nothing affected where it does not wait (completing a job), and
      // fails the awaited statements (taking jobs, upkeep), which it catches and tries again.
      return undefined as unknown as { rows: unknown[] };
    }
  }

  /** Before the database pool closes (on application shutdown), which the queue uses. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.dispatching;
    // Jobs in progress finish (or expire and go to another instance); none is lost.
    await this.boss?.stop({ graceful: true, timeout: 15_000, close: false, wait: true });
    this.closed = true;
    await this.bossPool?.end();
  }

  /** Dispatches now, or once more after the run in progress. */
  dispatchSoon(): void {
    if (this.stopping || !this.boss) return;
    if (this.dispatching) {
      this.dispatchAgain = true;
      return;
    }
    this.dispatching = this.dispatchLoop()
      .catch((error: Error) => this.logger.warn(`webhook dispatch failed (retried): ${error.message}`))
      .finally(() => (this.dispatching = undefined));
  }

  private async dispatchLoop(): Promise<void> {
    do {
      this.dispatchAgain = false;
      while (!this.stopping && (await this.dispatchBatch()) === DISPATCH_BATCH);
    } while (this.dispatchAgain && !this.stopping);
  }

  /** One transaction: a batch of events taken, and the jobs of their deliveries queued. Answers how many events. */
  private async dispatchBatch(): Promise<number> {
    const queued = await this.transactions.run(async (tx) => {
      const events = await this.deliveries.takeUndispatched(tx, DISPATCH_BATCH);
      if (!events.length) return { events: 0, jobs: 0 };
      const endpoints = await this.deliveries.enabledEndpoints(tx);
      const jobs = events.flatMap((event) =>
        endpoints
          .filter((endpoint) =>
            event.endpointId === null
              ? endpoint.events.includes(ALL_EVENTS) || endpoint.events.includes(event.type)
              : endpoint.id === event.endpointId,
          )
          .map((endpoint) => ({ endpointId: endpoint.id, eventId: event.id, attempt: 1 })),
      );
      await this.queue(tx, jobs);
      return { events: events.length, jobs: jobs.length };
    });
    if (queued.jobs && this.workerId) this.boss?.notifyWorker(this.workerId);
    return queued.events;
  }

  /** Queues delivery jobs in `tx` (they exist once it commits), each to start at `startAfter` or now. */
  async queue(tx: EntityManager, jobs: (DeliveryJob & { startAfter?: Date })[]): Promise<void> {
    if (!jobs.length || !this.boss) return;
    const target = pgTarget(tx);
    await this.boss.insert(
      jobs.map(({ startAfter, ...data }) => ({ name: DELIVERY_QUEUE, data, ...(startAfter ? { startAfter } : {}) })),
      { db: { executeSql: (text: string, values?: unknown[]) => target.query(text, values) } },
    );
  }

  /** Called by an ADMIN's replay or test: queues now, outside any transaction of the caller's. */
  async queueNow(jobs: DeliveryJob[]): Promise<void> {
    await this.transactions.run((tx) => this.queue(tx, jobs));
    if (this.workerId) this.boss?.notifyWorker(this.workerId);
  }

  /** A batch of jobs, each delivered on its own; one that cannot be recorded fails alone and is run again. */
  private async deliverAll(jobs: PgBoss.Job<DeliveryJob>[]): Promise<void> {
    const failed: string[] = [];
    await Promise.all(
      jobs.map((job) =>
        this.deliver(job.data).catch((error: Error) => {
          this.logger.warn(`webhook delivery could not be recorded (tried again): ${error.message}`);
          failed.push(job.id);
        }),
      ),
    );
    // Not done here, pg-boss runs them again once they expire.
    if (failed.length) {
      await this.boss!.fail(DELIVERY_QUEUE, failed).catch((error: Error) => this.logger.warn(error.message));
    }
  }

  private async deliver(job: DeliveryJob): Promise<void> {
    const endpoint = await this.deliveries.endpoint(job.endpointId);
    // Deleted or disabled since: nothing more is sent to it (a replay can send it again once enabled).
    if (!endpoint?.enabled) return;
    const event = await this.deliveries.event(job.eventId);
    if (!event) return;
    const attempt = job.attempt ?? (await this.deliveries.nextAttempt(endpoint.id, event.id));
    const body = JSON.stringify({
      id: event.eventId,
      type: event.type,
      timestamp: event.createdAt.toISOString(),
      data: await this.dataOf(event),
    });
    const timestamp = Math.floor(Date.now() / 1000);
    const row = await this.deliveries.startAttempt(endpoint.id, event.id, attempt);
    const result = await sendWebhook(
      endpoint.url,
      body,
      {
        'user-agent': 'Logbook-Webhooks/1.1',
        'webhook-id': event.eventId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': this.signatures(endpoint, event.eventId, timestamp, body),
      },
      this.settings.webhookAllowPrivate,
    );
    const succeeded = result.error === null;
    const schedule = this.settings.webhookRetryScheduleSeconds;
    // A first or retried attempt that fails has a next one while the schedule lasts; a replay's attempt is its own.
    const step = job.attempt === null ? undefined : schedule[attempt - 1];
    const nextAttemptAt = !succeeded && step !== undefined ? new Date(Date.now() + step * 1000) : null;
    await this.transactions.run(async (tx) => {
      await this.deliveries.finishAttempt(tx, row, {
        status: succeeded ? 'succeeded' : 'failed',
        responseStatus: result.status,
        durationMs: result.durationMs,
        error: result.error,
        nextAttemptAt,
      });
      if (nextAttemptAt) {
        await this.queue(tx, [
          { endpointId: endpoint.id, eventId: event.id, attempt: attempt + 1, startAfter: nextAttemptAt },
        ]);
      }
      const failingSince = await this.deliveries.noteOutcome(tx, endpoint.id, succeeded);
      if (
        !succeeded &&
        failingSince &&
        Date.now() - failingSince.getTime() >= this.settings.webhookDisableAfterSeconds * 1000
      ) {
        await this.disable(tx, endpoint, failingSince);
      }
    });
  }

  /** Disabled after failing every delivery for WEBHOOK_DISABLE_AFTER: audited, as the service's own doing. */
  private async disable(tx: Tx, endpoint: LiveEndpoint, since: Date): Promise<void> {
    const changed = await sql(
      tx,
      'UPDATE webhook_endpoints SET enabled = false, updated_at = now() WHERE id = $1 AND enabled RETURNING id',
      [endpoint.id],
    );
    if (!changed.length) return;
    await this.audit.record(tx, {
      action: 'UPDATE',
      entityType: 'Webhook',
      entityId: endpoint.id,
      oldValues: { enabled: true },
      newValues: { enabled: false, reason: `every delivery failed since ${since.toISOString()}` },
      actor: { id: null, email: 'webhooks' },
    });
  }

  /** The current secret's signature, and for 24 hours after a rotation the previous one's too. */
  private signatures(endpoint: LiveEndpoint, id: string, timestamp: number, body: string): string {
    const key = this.secrets.webhookSecretKey;
    const signatures = [webhookSignature(openSecret(endpoint.secretSealed, key), id, timestamp, body)];
    if (endpoint.previousSecretSealed && endpoint.previousSecretUntil && endpoint.previousSecretUntil > new Date()) {
      signatures.push(webhookSignature(openSecret(endpoint.previousSecretSealed, key), id, timestamp, body));
    }
    return signatures.join(' ');
  }

  /**
   * The record as the API answers it. An activity as it was created: only its status, `updatedAt` and `deletedAt`
   * can change afterwards, and the event keeps the status it was created with.
   */
  private async dataOf(event: StoredEvent): Promise<Record<string, unknown> | null> {
    if (event.data) return event.data;
    if (event.recordId === null) return null;
    if (event.type === 'activity.created') {
      const activity = await this.dataSource
        .getRepository(ActivityLog)
        .findOne({ where: { id: event.recordId }, withDeleted: true });
      if (!activity) return null;
      return {
        ...toActivityResponse(
          Object.assign(activity, { status: event.status, updatedAt: activity.createdAt, deletedAt: null }),
        ),
      };
    }
    if (event.type === 'audit.created') {
      const entry = await this.dataSource.getRepository(AuditLog).findOneBy({ id: event.recordId });
      return entry && { ...toAuditLogResponse(entry) };
    }
    if (event.type === 'ledger.checkpoint') return { ...(await this.ledger.checkpoint(event.recordId)) };
    return null;
  }
}
