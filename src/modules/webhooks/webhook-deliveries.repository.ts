import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Paging } from '../../common/pagination/paging';
import type { ReadDb } from '../../database/read-replicas';
import { sql } from '../../database/sql';
import type { DeliveryStatus } from './webhook-delivery.entity';
import type { WebhookEventChoice, WebhookEventType } from './webhook-events';

/** One attempt to make: an event (its row id) for an endpoint; a null attempt is the one after the last made. */
export interface Delivery {
  endpointId: number;
  eventId: number;
  attempt: number | null;
}

export interface DispatchedEvent {
  id: number;
  type: WebhookEventType;
  endpointId: number | null;
}

export interface StoredEvent {
  id: number;
  eventId: string;
  type: WebhookEventType;
  recordId: number | null;
  status: string | null;
  data: Record<string, unknown> | null;
  endpointId: number | null;
  createdAt: Date;
}

export interface LiveEndpoint {
  id: number;
  url: string;
  events: WebhookEventChoice[];
  enabled: boolean;
  secretSealed: string;
  previousSecretSealed: string | null;
  previousSecretUntil: Date | null;
  failingSince: Date | null;
}

export interface DeliveryRow {
  id: number;
  eventId: string;
  eventType: WebhookEventType;
  attempt: number;
  status: DeliveryStatus;
  responseStatus: number | null;
  durationMs: number | null;
  error: string | null;
  createdAt: Date;
  nextAttemptAt: Date | null;
}

/** What an attempt left `pending` says once a later run finds it: no answer was ever recorded for it. */
export const INTERRUPTED = 'interrupted: Logbook stopped before recording an answer';

/** The only code that reads or writes webhook_events and webhook_deliveries. */
@Injectable()
export class WebhookDeliveriesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Takes up to `limit` events not dispatched yet, in their order, and marks them dispatched; rows another
   * transaction holds are skipped (it dispatches them), so any number of instances can do this at once.
   */
  async takeUndispatched(tx: EntityManager, limit: number): Promise<DispatchedEvent[]> {
    const rows = await sql<{ id: string; type: WebhookEventType; endpoint_id: string | null }>(
      tx,
      `UPDATE webhook_events e SET dispatched_at = now()
         FROM (SELECT id FROM webhook_events WHERE dispatched_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) p
        WHERE e.id = p.id
        RETURNING e.id, e.type, e.endpoint_id`,
      [limit],
    );
    return rows
      .map((row) => ({
        id: Number(row.id),
        type: row.type,
        endpointId: row.endpoint_id === null ? null : Number(row.endpoint_id),
      }))
      .sort((a, b) => a.id - b.id);
  }

  /** Enabled endpoints that are not deleted. */
  enabledEndpoints(db: EntityManager = this.dataSource.manager): Promise<LiveEndpoint[]> {
    return this.endpointsWhere(db, 'enabled');
  }

  /** An endpoint that is not deleted (enabled or not). */
  async endpoint(id: number): Promise<LiveEndpoint | null> {
    return (await this.endpointsByIds([id])).get(id) ?? null;
  }

  /**
   * Marks the endpoint failing (from now, unless it already was), or not; answers since when it fails. Its row is
   * written only when that changes, so endpoints that keep failing are not locked by every batch.
   */
  async noteOutcome(tx: EntityManager, endpointId: number, succeeded: boolean): Promise<Date | null> {
    if (succeeded) {
      await sql(tx, 'UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL', [
        endpointId,
      ]);
      return null;
    }
    const [marked] = await sql<{ failing_since: Date }>(
      tx,
      'UPDATE webhook_endpoints SET failing_since = now() WHERE id = $1 AND failing_since IS NULL RETURNING failing_since',
      [endpointId],
    );
    if (marked) return marked.failing_since;
    const [row] = await sql<{ failing_since: Date | null }>(
      tx,
      'SELECT failing_since FROM webhook_endpoints WHERE id = $1',
      [endpointId],
    );
    return row?.failing_since ?? null;
  }

  /**
   * Removes up to `limit` events written before `cutoff` (dispatched ones: the others still have deliveries to queue)
   * and up to `limit` attempts made before it, oldest first; answers how many of each. Both scans start at the
   * oldest rows (by id), where what goes is.
   */
  async prune(cutoff: Date, limit: number): Promise<{ events: number; attempts: number }> {
    const [row] = await sql<{ events: string; attempts: string }>(
      this.dataSource.manager,
      `WITH events AS (
         DELETE FROM webhook_events WHERE id IN (
           SELECT id FROM webhook_events WHERE created_at < $1 AND dispatched_at IS NOT NULL ORDER BY id LIMIT $2)
         RETURNING 1
       ), attempts AS (
         DELETE FROM webhook_deliveries WHERE id IN (
           SELECT id FROM webhook_deliveries WHERE created_at < $1 ORDER BY id LIMIT $2)
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM attempts) AS attempts`,
      [cutoff, limit],
    );
    return { events: Number(row.events), attempts: Number(row.attempts) };
  }

  /** Events of the endpoint's types since `since`, oldest first, at most `limit`: what a replay sends again. */
  async eventsSince(endpoint: LiveEndpoint, since: Date, limit: number): Promise<number[]> {
    const rows = await sql<{ id: string }>(
      this.dataSource.manager,
      `SELECT id FROM webhook_events
        WHERE created_at >= $1 AND (endpoint_id IS NULL OR endpoint_id = $2)
          AND ($3::varchar[] @> ARRAY['*']::varchar[] OR type = ANY($3::varchar[]))
        ORDER BY id LIMIT $4`,
      [since, endpoint.id, endpoint.events, limit],
    );
    return rows.map((row) => Number(row.id));
  }

  /** Endpoints that are not deleted (enabled or not), by id. */
  async endpointsByIds(ids: number[]): Promise<Map<number, LiveEndpoint>> {
    const endpoints = await this.endpointsWhere(this.dataSource.manager, 'id = ANY($1::bigint[])', [ids]);
    return new Map(endpoints.map((endpoint) => [endpoint.id, endpoint]));
  }

  /** The endpoints, not deleted, that `condition` admits: what a delivery needs of each. */
  private async endpointsWhere(db: EntityManager, condition: string, params: unknown[] = []): Promise<LiveEndpoint[]> {
    const rows = await sql<Record<string, unknown>>(
      db,
      `SELECT id, url, events, enabled, secret_sealed, previous_secret_sealed, previous_secret_until, failing_since
         FROM webhook_endpoints WHERE ${condition} AND deleted_at IS NULL`,
      params,
    );
    return rows.map(toEndpoint);
  }

  async eventsByIds(ids: number[]): Promise<Map<number, StoredEvent>> {
    const rows = await sql<Record<string, unknown>>(
      this.dataSource.manager,
      `SELECT id, event_id, type, record_id, status, data, endpoint_id, created_at
         FROM webhook_events WHERE id = ANY($1::bigint[])`,
      [ids],
    );
    return new Map(rows.map((row) => [Number(row.id), toEvent(row)]));
  }

  /**
   * The attempts' rows, `pending`, in one statement; answers their ids and numbers, in the order given, or null for
   * an attempt not to make. An attempt takes the number asked for (a retry's), or the one after the last made: for a
   * replay (asked as `null`), and for a job that runs again because its instance stopped mid-way. Such a run finds
   * its attempt's row already there: still `pending` when no answer was recorded (it is marked failed as
   * interrupted, and the log shows both), or `succeeded`, when the event is not sent again (null).
   */
  async startAttempts(attempts: Delivery[]): Promise<({ id: number; attempt: number } | null)[]> {
    const rows = await sql<{ id: string | null; attempt: number; ordinal: string }>(
      this.dataSource.manager,
      `WITH wanted AS (
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[]) WITH ORDINALITY AS w(endpoint_id, event_id, attempt, ordinal)
       ), earlier AS (
         SELECT w.ordinal, max(d.attempt) AS last,
                bool_or(d.status = 'succeeded' AND d.attempt >= w.attempt) AS delivered
           FROM wanted w JOIN webhook_deliveries d USING (endpoint_id, event_id)
          GROUP BY w.ordinal
       ), interrupted AS (
         UPDATE webhook_deliveries d
            SET status = 'failed', error = $4
           FROM wanted w
          WHERE d.endpoint_id = w.endpoint_id AND d.event_id = w.event_id AND d.status = 'pending'
            AND d.attempt >= coalesce(w.attempt, 0)
       ), numbered AS (
         SELECT w.endpoint_id, w.event_id, w.ordinal, coalesce(e.delivered, false) AS delivered,
                CASE WHEN w.attempt IS NULL OR coalesce(e.last, 0) >= w.attempt THEN coalesce(e.last, 0) + 1
                     ELSE w.attempt END AS attempt
           FROM wanted w LEFT JOIN earlier e USING (ordinal)
       ), written AS (
         INSERT INTO webhook_deliveries (endpoint_id, event_id, attempt, status)
         SELECT endpoint_id, event_id, attempt, 'pending' FROM numbered WHERE NOT delivered ORDER BY ordinal
         ON CONFLICT (endpoint_id, event_id, attempt)
         DO UPDATE SET status = 'pending', created_at = now(), response_status = NULL, duration_ms = NULL, error = NULL
         RETURNING id, endpoint_id, event_id, attempt
       )
       SELECT written.id, numbered.attempt, numbered.ordinal FROM numbered
         LEFT JOIN written USING (endpoint_id, event_id, attempt)`,
      [
        attempts.map((item) => item.endpointId),
        attempts.map((item) => item.eventId),
        attempts.map((item) => item.attempt),
        INTERRUPTED,
      ],
    );
    const started = new Array<{ id: number; attempt: number } | null>(attempts.length).fill(null);
    for (const row of rows) {
      if (row.id !== null) started[Number(row.ordinal) - 1] = { id: Number(row.id), attempt: row.attempt };
    }
    return started;
  }

  /** Records how each attempt went, in one statement. */
  async finishAttempts(
    tx: EntityManager,
    outcomes: {
      id: number;
      status: DeliveryStatus;
      responseStatus: number | null;
      durationMs: number;
      error: string | null;
      nextAttemptAt: Date | null;
    }[],
  ): Promise<void> {
    await sql(
      tx,
      `UPDATE webhook_deliveries d
          SET status = o.status, response_status = o.response_status, duration_ms = o.duration_ms, error = o.error,
              next_attempt_at = o.next_attempt_at
         FROM unnest($1::bigint[], $2::varchar[], $3::int[], $4::int[], $5::varchar[], $6::timestamptz[])
              AS o(id, status, response_status, duration_ms, error, next_attempt_at)
        WHERE d.id = o.id`,
      [
        outcomes.map((item) => item.id),
        outcomes.map((item) => item.status),
        outcomes.map((item) => item.responseStatus),
        outcomes.map((item) => item.durationMs),
        outcomes.map((item) => item.error),
        outcomes.map((item) => item.nextAttemptAt),
      ],
    );
  }

  /** An endpoint's attempts, newest first; one row more than `paging.limit` when more follow. */
  async list(
    endpointId: number,
    status: DeliveryStatus | undefined,
    paging: Paging,
    db: ReadDb = this.dataSource.manager,
  ): Promise<{ rows: DeliveryRow[]; total: number | null }> {
    const filters = ['d.endpoint_id = $1', ...(status ? ['d.status = $2'] : [])];
    const params: unknown[] = [endpointId, ...(status ? [status] : [])];
    const where = filters.join(' AND ');
    let total: number | null = null;
    if (!paging.after) {
      const [{ count }] = await sql<{ count: string }>(
        db,
        `SELECT count(*) AS count FROM webhook_deliveries d WHERE ${where}`,
        params,
      );
      total = Number(count);
    }
    const after = paging.after ? ` AND d.id < $${params.push(paging.after.id)}` : '';
    const offset = paging.after ? 0 : ((paging.page ?? 1) - 1) * paging.limit;
    const rows = await sql<Record<string, unknown>>(
      db,
      `SELECT d.id, e.event_id, e.type, d.attempt, d.status, d.response_status, d.duration_ms, d.error, d.created_at,
              d.next_attempt_at
         FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
        WHERE ${where}${after}
        ORDER BY d.id DESC LIMIT $${params.push(paging.limit + 1)} OFFSET $${params.push(offset)}`,
      params,
    );
    return {
      total,
      rows: rows.map((row) => ({
        id: Number(row.id),
        eventId: row.event_id as string,
        eventType: row.type as WebhookEventType,
        attempt: row.attempt as number,
        status: row.status as DeliveryStatus,
        responseStatus: row.response_status as number | null,
        durationMs: row.duration_ms as number | null,
        error: row.error as string | null,
        createdAt: row.created_at as Date,
        nextAttemptAt: row.next_attempt_at as Date | null,
      })),
    };
  }
}

function toEvent(row: Record<string, unknown>): StoredEvent {
  return {
    id: Number(row.id),
    eventId: row.event_id as string,
    type: row.type as WebhookEventType,
    recordId: row.record_id === null ? null : Number(row.record_id),
    status: row.status as string | null,
    data: row.data as Record<string, unknown> | null,
    endpointId: row.endpoint_id === null ? null : Number(row.endpoint_id),
    createdAt: row.created_at as Date,
  };
}

function toEndpoint(row: Record<string, unknown>): LiveEndpoint {
  return {
    id: Number(row.id),
    url: row.url as string,
    events: row.events as WebhookEventChoice[],
    enabled: row.enabled as boolean,
    secretSealed: row.secret_sealed as string,
    previousSecretSealed: row.previous_secret_sealed as string | null,
    previousSecretUntil: row.previous_secret_until as Date | null,
    failingSince: row.failing_since as Date | null,
  };
}
