import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Pool } from 'pg';
import PgBoss from 'pg-boss';
import { DataSource, EntityManager, In } from 'typeorm';
import { BackgroundDeferral, RequestPressure } from '../../common/load/background-deferral';
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
import { Delivery, LiveEndpoint, StoredEvent, WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { openSecret } from './webhook-secrets';
import { closeWebhookConnections, sendWebhook } from './webhook-sender';
import { webhookSignature } from './webhook-signature';

/** The pg-boss queue of delivery attempts: one job per attempt of up to JOB_EVENTS events at one endpoint. */
export const DELIVERY_QUEUE = 'webhook-delivery';
/** How often each instance looks for events to dispatch (besides right after the commits of services' events). */
const DISPATCH_INTERVAL_MS = 250;
const DISPATCH_BATCH = 500;
/** Events per job at most: a job costs pg-boss a few rows, however many events it carries. */
const JOB_EVENTS = 50;
/** Delivery workers per instance, and the jobs each takes at once (at most 100 requests in flight per worker). */
const WORKERS = 4;
const BATCH = 2;
/** Once an hour, on one instance (pg-boss's cron): events and attempts older than WEBHOOK_EVENT_RETENTION go. */
const PRUNE_QUEUE = 'webhook-prune';
const PRUNE_CRON = '17 * * * *';
const PRUNE_BATCH = 10_000;
/** A replay sends at most this many events; a wider window takes several replays. */
export const REPLAY_LIMIT = 10_000;

/** A job: attempts at one endpoint, made together. */
interface DeliveryJob {
  endpointId: number;
  events: { eventId: number; attempt: number | null }[];
}

/** The attempts a job stands for. */
function deliveriesOf(job: DeliveryJob): Delivery[] {
  return job.events.map(({ eventId, attempt }) => ({ endpointId: job.endpointId, eventId, attempt }));
}

/** Attempts made into jobs: per endpoint and start time, JOB_EVENTS at most in each. */
function jobsOf(deliveries: (Delivery & { startAfter?: Date })[]): (DeliveryJob & { startAfter?: Date })[] {
  const groups = new Map<string, DeliveryJob & { startAfter?: Date }>();
  const jobs: (DeliveryJob & { startAfter?: Date })[] = [];
  for (const { endpointId, eventId, attempt, startAfter } of deliveries) {
    const key = `${endpointId}:${startAfter?.getTime() ?? ''}`;
    let job = groups.get(key);
    if (!job || job.events.length === JOB_EVENTS) {
      job = { endpointId, events: [], ...(startAfter ? { startAfter } : {}) };
      groups.set(key, job);
      jobs.push(job);
    }
    job.events.push({ eventId, attempt });
  }
  return jobs;
}

/**
 * Delivery of the outbox's events: at least once, by any instance, one at a time per attempt.
 *
 * - Dispatch: every instance, every 250 ms (and right after a service's event commits), takes the events not yet dispatched
 *   (`FOR UPDATE SKIP LOCKED`, so instances never take the same one) and, in the same transaction, queues their
 *   first attempts at each endpoint that asks for their type, up to 50 events per job. A crash before the commit
 *   leaves the events to be taken again; after it, the jobs are queued.
 * - Delivery: pg-boss's workers (on every instance) take the jobs; a job is active on one worker at a time. A worker
 *   that dies with it leaves it active until it expires (30 s: a batch's requests take 10 s at most), then pg-boss
 *   gives it to another. Each attempt is a row of the attempt log; a failed one queues the next attempt, after the
 *   step of WEBHOOK_RETRY_SCHEDULE, in the transaction that records it. An attempt that was under way when its
 *   instance died stays in the log, failed as interrupted, beside the one made when the job runs again.
 *
 * pg-boss (a PostgreSQL job queue on this database, in its own schema `pgboss`) does the taking, the locking, the
 * delays and the recovery of jobs whose worker died; its own retries only cover such crashes.
 */
@Injectable()
export class WebhookDeliveryService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebhookDeliveryService.name);
  private boss?: PgBoss;
  private bossPool?: Pool;
  private readonly workerIds: string[] = [];
  private timer?: NodeJS.Timeout;
  private dispatching?: Promise<void>;
  private dispatchAgain = false;
  private readonly deferral: BackgroundDeferral;
  private readonly pressure = new RequestPressure();
  /** Whether the last tick put dispatching off. */
  private deferring = false;
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
    // Events written by services are dispatched as soon as they commit. Those that statements write with their
    // records (activities, audit entries) wait for the next look, within DISPATCH_INTERVAL_MS: kicking the dispatcher
    // after every such commit would cost every write a transaction, whether anyone subscribed or not.
    transactions.onCommit('webhookEventAdded', () => {
      if (!this.deferring) this.dispatchSoon();
    });
    this.deferral = new BackgroundDeferral(settings.webhookMaxDeferMs);
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
    // Made once; updated on every start, so a changed policy reaches a database that has the queue already.
    const delivery = { name: DELIVERY_QUEUE, retryLimit: 10, retryDelay: 5, expireInSeconds: 30 };
    await boss.createQueue(DELIVERY_QUEUE, delivery);
    await boss.updateQueue(DELIVERY_QUEUE, delivery);
    this.boss = boss;
    this.lenient = true;
    // pg-boss waits out the polling interval after a batch that took less; a worker whose batch was full is likely
    // to find more at once, so it asks to skip that wait.
    for (let worker = 0; worker < WORKERS; worker += 1) {
      let id = '';
      id = await boss.work<DeliveryJob>(
        DELIVERY_QUEUE,
        { batchSize: BATCH, pollingIntervalSeconds: 0.5 },
        async (jobs) => {
          await this.deliverAll(jobs);
          if (jobs.length === BATCH) boss.notifyWorker(id);
        },
      );
      this.workerIds.push(id);
    }
    await boss.createQueue(PRUNE_QUEUE, { name: PRUNE_QUEUE, retryLimit: 0, expireInSeconds: 3600 });
    await boss.schedule(PRUNE_QUEUE, PRUNE_CRON);
    this.workerIds.push(await boss.work(PRUNE_QUEUE, { pollingIntervalSeconds: 30 }, () => this.prune()));
    this.timer = setInterval(() => this.tick(), DISPATCH_INTERVAL_MS);
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
    closeWebhookConnections();
    await this.bossPool?.end();
  }

  /**
   * Removes the events and attempts older than WEBHOOK_EVENT_RETENTION, a batch per statement so that no statement
   * holds many rows. A job still queued for a removed event is done without a request.
   */
  async prune(now = new Date()): Promise<{ events: number; attempts: number }> {
    const cutoff = new Date(now.getTime() - this.settings.webhookEventRetentionSeconds * 1000);
    const total = { events: 0, attempts: 0 };
    for (;;) {
      const removed = await this.deliveries.prune(cutoff, PRUNE_BATCH);
      total.events += removed.events;
      total.attempts += removed.attempts;
      if (removed.events < PRUNE_BATCH && removed.attempts < PRUNE_BATCH) break;
    }
    if (total.events + total.attempts) {
      this.logger.log(
        `removed ${total.events} webhook events and ${total.attempts} attempts older than ${cutoff.toISOString()}`,
      );
    }
    return total;
  }

  /**
   * Every DISPATCH_INTERVAL_MS: dispatches, unless requests keep the instance busy. Delivering is work that can wait
   * and costs about what taking the write did, so during a burst it is put off (WEBHOOK_MAX_DEFER_MS at most in a
   * row) and done right after; meanwhile events wait in the outbox, where they are safe.
   */
  private tick(): void {
    this.deferring = this.deferral.defer(this.pressure.busy());
    if (!this.deferring) this.dispatchSoon();
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
      const deliveries = events.flatMap((event) =>
        endpoints
          .filter((endpoint) =>
            event.endpointId === null
              ? endpoint.events.includes(ALL_EVENTS) || endpoint.events.includes(event.type)
              : endpoint.id === event.endpointId,
          )
          .map((endpoint) => ({ endpointId: endpoint.id, eventId: event.id, attempt: 1 })),
      );
      await this.queue(tx, deliveries);
      return { events: events.length, jobs: deliveries.length };
    });
    if (queued.jobs) this.notifyWorkers();
    return queued.events;
  }

  /** Queues the attempts' jobs in `tx` (they exist once it commits), each to start at `startAfter` or now. */
  async queue(tx: EntityManager, deliveries: (Delivery & { startAfter?: Date })[]): Promise<void> {
    if (!deliveries.length || !this.boss) return;
    const target = pgTarget(tx);
    await this.boss.insert(
      jobsOf(deliveries).map(({ startAfter, ...data }) => ({
        name: DELIVERY_QUEUE,
        data,
        ...(startAfter ? { startAfter } : {}),
      })),
      { db: { executeSql: (text: string, values?: unknown[]) => target.query(text, values) } },
    );
  }

  private notifyWorkers(): void {
    for (const id of this.workerIds) this.boss?.notifyWorker(id);
  }

  /** Called by an ADMIN's replay or test: queues now, outside any transaction of the caller's. */
  async queueNow(deliveries: Delivery[]): Promise<void> {
    await this.transactions.run((tx) => this.queue(tx, deliveries));
    this.notifyWorkers();
  }

  /**
   * A batch of jobs, delivered together: their endpoints, events and records read with one query each, their attempt
   * rows written `pending` in one statement, the requests sent at once, and the outcomes (with the next attempts of
   * those that failed) recorded in one transaction. Jobs whose endpoint is gone or disabled, or whose event is gone,
   * are done without a request. Throwing fails the batch: pg-boss runs its jobs again (at least once).
   */
  private async deliverAll(jobs: PgBoss.Job<DeliveryJob>[]): Promise<void> {
    const wanted = jobs.flatMap((job) => deliveriesOf(job.data));
    const endpoints = await this.deliveries.endpointsByIds([...new Set(wanted.map((item) => item.endpointId))]);
    const events = await this.deliveries.eventsByIds([...new Set(wanted.map((item) => item.eventId))]);
    // Deleted or disabled since: nothing more is sent to it (a replay can send it again once enabled). The same event
    // for the same endpoint twice in one batch (a replay beside a retry) is sent once, as the retry.
    const byPair = new Map<string, { job: Delivery; endpoint: LiveEndpoint; event: StoredEvent }>();
    for (const job of wanted) {
      const endpoint = endpoints.get(job.endpointId);
      const event = events.get(job.eventId);
      if (!endpoint?.enabled || !event) continue;
      const key = `${endpoint.id}:${event.id}`;
      if (!byPair.has(key) || job.attempt !== null) byPair.set(key, { job, endpoint, event });
    }
    const candidates = [...byPair.values()];
    if (!candidates.length) return;
    const started = await this.deliveries.startAttempts(
      candidates.map((item) => ({ endpointId: item.endpoint.id, eventId: item.event.id, attempt: item.job.attempt })),
    );
    // Those a run before this one delivered already (its instance stopped before the job was done) are not sent again.
    const live = candidates.flatMap((item, index) => {
      const row = started[index];
      return row ? [{ ...item, row: row.id, attempt: row.attempt }] : [];
    });
    if (!live.length) return;
    const bodies = await this.bodiesOf([...new Map(live.map((item) => [item.event.id, item.event])).values()]);
    const timestamp = Math.floor(Date.now() / 1000);
    const results = await Promise.all(
      live.map(({ endpoint, event }) => {
        const body = bodies.get(event.id)!;
        return sendWebhook(
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
      }),
    );
    const schedule = this.settings.webhookRetryScheduleSeconds;
    // One time for the batch: the failed attempts of one endpoint and one step go on in one job.
    const now = Date.now();
    const outcomes = live.map((item, index) => {
      const result = results[index];
      const succeeded = result.error === null;
      // A first or retried attempt that fails has a next one while the schedule lasts; a replay's attempt is its own.
      const step = item.job.attempt === null ? undefined : schedule[item.attempt - 1];
      return {
        id: item.row,
        succeeded,
        status: succeeded ? ('succeeded' as const) : ('failed' as const),
        responseStatus: result.status,
        durationMs: result.durationMs,
        error: result.error,
        nextAttemptAt: !succeeded && step !== undefined ? new Date(now + step * 1000) : null,
      };
    });
    await this.transactions.run(async (tx) => {
      await this.deliveries.finishAttempts(tx, outcomes);
      await this.queue(
        tx,
        live.flatMap((item, index) => {
          const at = outcomes[index].nextAttemptAt;
          return at
            ? [{ endpointId: item.endpoint.id, eventId: item.event.id, attempt: item.attempt + 1, startAfter: at }]
            : [];
        }),
      );
      // Per endpoint: one success in the batch clears its failing; otherwise its failures count from the first.
      const byEndpoint = new Map<number, { endpoint: LiveEndpoint; succeeded: boolean }>();
      live.forEach((item, index) => {
        const seen = byEndpoint.get(item.endpoint.id);
        byEndpoint.set(item.endpoint.id, {
          endpoint: item.endpoint,
          succeeded: (seen?.succeeded ?? false) || outcomes[index].succeeded,
        });
      });
      // In the order of their ids, as every batch does: two batches never wait for each other's endpoints in a ring.
      const sorted = [...byEndpoint.values()].sort((a, b) => a.endpoint.id - b.endpoint.id);
      for (const { endpoint, succeeded } of sorted) {
        const failingSince = await this.deliveries.noteOutcome(tx, endpoint.id, succeeded);
        const limit = this.settings.webhookDisableAfterSeconds * 1000;
        if (!succeeded && failingSince && Date.now() - failingSince.getTime() >= limit) {
          await this.disable(tx, endpoint, failingSince);
        }
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
   * Each event's body, `{ id, type, timestamp, data }`, with the record as the API answers it (its records read in one
   * query per kind). An activity as it was created: only its status, `updatedAt` and `deletedAt` can change
   * afterwards, and the event keeps the status it was created with.
   */
  private async bodiesOf(events: StoredEvent[]): Promise<Map<number, string>> {
    const idsOf = (type: string) => events.filter((event) => event.type === type).map((event) => event.recordId!);
    const activities = new Map(
      (
        await this.dataSource
          .getRepository(ActivityLog)
          .find({ where: { id: In(idsOf('activity.created')) }, withDeleted: true })
      ).map((activity) => [activity.id, activity]),
    );
    const entries = new Map(
      (await this.dataSource.getRepository(AuditLog).findBy({ id: In(idsOf('audit.created')) })).map((entry) => [
        entry.id,
        entry,
      ]),
    );
    const bodies = new Map<number, string>();
    for (const event of events) {
      let data: Record<string, unknown> | null = event.data;
      if (!data && event.recordId !== null) {
        if (event.type === 'activity.created') {
          const activity = activities.get(event.recordId);
          data = activity
            ? {
                ...toActivityResponse(
                  Object.assign(new ActivityLog(), activity, {
                    status: event.status,
                    updatedAt: activity.createdAt,
                    deletedAt: null,
                  }),
                ),
              }
            : null;
        } else if (event.type === 'audit.created') {
          const entry = entries.get(event.recordId);
          data = entry ? { ...toAuditLogResponse(entry) } : null;
        } else if (event.type === 'ledger.checkpoint') {
          data = { ...(await this.ledger.checkpoint(event.recordId)) };
        }
      }
      bodies.set(
        event.id,
        JSON.stringify({ id: event.eventId, type: event.type, timestamp: event.createdAt.toISOString(), data }),
      );
    }
    return bodies;
  }
}
