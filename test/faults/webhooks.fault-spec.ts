import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import type { RunningLogbook } from '../helpers/process';
import { cli } from '../helpers/process';
import { Received, WebhookReceiver } from '../helpers/webhook-receiver';
import {
  activityBody,
  FaultPostgres,
  LoadClient,
  LoadUser,
  registerUsers,
  runWorkers,
  startLogbook,
  stopLogbook,
  Tally,
  waitFor,
} from './kit';

/** How an attempt reads in `GET /webhooks/:id/deliveries`. */
interface Attempt {
  id: number;
  eventId: string;
  attempt: number;
  status: 'pending' | 'succeeded' | 'failed';
  responseStatus: number | null;
  durationMs: number | null;
  error: string | null;
  nextAttemptAt: string | null;
}

interface Endpoint {
  id: number;
  secret: string;
  path: string;
}

const ADMIN = { email: 'webhook-faults-admin@example.com', password: 'correct horse battery staple' };

/**
 * Webhook delivery through failures, with Logbook's production build as its own process, an embedded PostgreSQL of
 * the scenario's own and a receiver served by the test over HTTP: a receiver that fails and recovers, one that
 * hangs, Logbook killed with SIGKILL while deliveries are under way, and PostgreSQL restarted under load. Each ends
 * with every event delivered at least once, always with the same `webhook-id`, signed (checked by the
 * `standardwebhooks` package), and an attempt log that tells what happened.
 */
describe('webhook delivery through failures', () => {
  let postgres: FaultPostgres;
  let logbook: RunningLogbook;
  let client: LoadClient;
  let receiver: WebhookReceiver;
  let admin: string;
  let writers: LoadUser[];
  let restarts = 0;

  const env = () => ({
    DATABASE_URL: postgres.url,
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_RETRY_SCHEDULE: '1s,1s,2s,2s,3s,5s,5s,10s,10s,10s',
    WEBHOOK_DISABLE_AFTER: '10m',
  });

  const start = async () => {
    logbook = await startLogbook(env());
    client?.close();
    client = new LoadClient(logbook.baseUrl, 40);
  };

  const signIn = async () => {
    const answer = await client.send('POST', '/api/v1/auth/login', { body: ADMIN });
    expect(answer.status).toBe(200);
    admin = answer.body.data.accessToken;
  };

  const makeEndpoint = async (path: string): Promise<Endpoint> => {
    const answer = await client.send('POST', '/api/v1/webhooks', {
      token: admin,
      body: { url: `${receiver.url}/${path}`, events: ['activity.created'] },
    });
    expect(answer.status).toBe(201);
    return { id: answer.body.data.id, secret: answer.body.data.secret, path };
  };

  const removeEndpoint = async (endpoint: Endpoint) => {
    expect((await client.send('DELETE', `/api/v1/webhooks/${endpoint.id}`, { token: admin })).status).toBe(200);
  };

  /** The whole attempt log of an endpoint, read through the API page by page, oldest first. */
  const attemptsOf = async (endpoint: Endpoint): Promise<Attempt[]> => {
    const attempts: Attempt[] = [];
    let cursor: string | undefined;
    do {
      const query = cursor ? `limit=100&cursor=${encodeURIComponent(cursor)}` : 'limit=100';
      const answer = await client.send('GET', `/api/v1/webhooks/${endpoint.id}/deliveries?${query}`, {
        token: admin,
      });
      expect(answer.status).toBe(200);
      attempts.push(...answer.body.data);
      cursor = answer.body.meta.nextCursor ?? undefined;
    } while (cursor);
    return attempts.reverse();
  };

  /** The `activity.created` events stored for the activities of `run`: event id by activity id. */
  const eventsOfRun = async (run: string): Promise<Map<string, string>> => {
    const rows = await postgres.sql<{ activity: string; event: string | null }>(
      `SELECT a.id AS activity, e.event_id AS event
         FROM activities a
         LEFT JOIN webhook_events e ON e.type = 'activity.created' AND e.record_id = a.id
        WHERE a.metadata->>'run' = $1`,
      [run],
    );
    // No change without its event: each activity of the run has one.
    expect(rows.filter((row) => row.event === null)).toEqual([]);
    return new Map(rows.map((row) => [String(row.activity), row.event!]));
  };

  /**
   * What `endpoint` received, checked: each request signed with its secret (the standardwebhooks package throws
   * otherwise), its `webhook-id` the event's stored id, and the body that of a stored activity of the run.
   * Answers the requests by event id.
   */
  const receivedBy = (endpoint: Endpoint, events: Map<string, string>): Map<string, Received[]> => {
    const byEvent = new Map<string, Received[]>();
    for (const request of receiver.at(endpoint.path)) {
      const event = new Webhook(endpoint.secret).verify(request.body, {
        'webhook-id': String(request.headers['webhook-id']),
        'webhook-timestamp': String(request.headers['webhook-timestamp']),
        'webhook-signature': String(request.headers['webhook-signature']),
      }) as { id: string; type: string; data: { id: number } };
      expect(event.type).toBe('activity.created');
      expect(request.headers['webhook-id']).toBe(event.id);
      // No event without its change: the activity it carries is stored, and this is its event.
      expect(events.get(String(event.data.id))).toBe(event.id);
      byEvent.set(event.id, [...(byEvent.get(event.id) ?? []), request]);
    }
    return byEvent;
  };

  /** Waits until the receiver has answered 2xx to every event of `events` at `endpoint`, its sender listening. */
  const deliveredAll = (endpoint: Endpoint, events: Map<string, string>, timeoutMs: number) =>
    waitFor(
      `every event at ${endpoint.path}`,
      () => {
        const delivered = new Set(
          receiver
            .at(endpoint.path)
            .filter((request) => receiver.answeredOk.has(request))
            .map((request) => String(request.headers['webhook-id'])),
        );
        return [...events.values()].every((event) => delivered.has(event));
      },
      timeoutMs,
      100,
    );

  /** Writes `count` activities of `run`, `parallel` at a time; answers how many were answered 201. */
  const write = async (run: string, count: number, parallel = 8) => {
    let next = 0;
    let created = 0;
    await runWorkers(
      parallel,
      () => next < count,
      async (worker) => {
        const seq = next++;
        const answer = await client.send('POST', '/api/v1/activities', {
          token: writers[worker % writers.length].token,
          body: activityBody(run, seq),
        });
        if (answer.status === 201) created += 1;
      },
    );
    return created;
  };

  /** Answers `status` after `delayMs`. */
  const answerLater = async (status: number, delayMs = 0) => {
    if (delayMs) await sleep(delayMs);
    return status;
  };

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    postgres = await FaultPostgres.start();
    await start();
    const made = await cli(['create-admin', '--email', ADMIN.email, '--password', ADMIN.password], postgres.url);
    expect(made.code).toBe(0);
    await signIn();
    writers = await registerUsers(client, 2, 'webhook-writer');
  });

  afterAll(async () => {
    client?.close();
    await stopLogbook(logbook, `webhooks-${restarts}`);
    await receiver?.close();
    await postgres?.dispose();
  });

  it('a receiver that answers 500 and then recovers, and one that hangs, get every event once they answer', async () => {
    const flaky = await makeEndpoint('flaky');
    const hanging = await makeEndpoint('hanging');
    let recovered = false;
    const hungOnce = new Set<string>();
    receiver.answer = (request) => {
      if (request.path.endsWith('/flaky')) return recovered ? 200 : 500;
      if (request.path.endsWith('/hanging')) {
        // Each event's first request never gets an answer: Logbook gives up after 10 s and tries again.
        const id = String(request.headers['webhook-id']);
        if (!hungOnce.has(id)) {
          hungOnce.add(id);
          return 'hang';
        }
      }
      return 200;
    };
    const run = randomUUID();
    expect(await write(run, 40)).toBe(40);
    const events = await eventsOfRun(run);
    expect(events.size).toBe(40);

    // Failing for a few seconds: every event is tried again on the schedule (1 s, 1 s, 2 s, ...).
    await waitFor(
      'three attempts of every event at the failing receiver',
      () => [...receivedBy(flaky, events).values()].filter((requests) => requests.length >= 3).length === 40,
      20_000,
    );
    recovered = true;
    await deliveredAll(flaky, events, 30_000);
    await deliveredAll(hanging, events, 30_000);

    const flakyLog = await attemptsOf(flaky);
    for (const [event, requests] of receivedBy(flaky, events)) {
      // Every request for one event carried the same webhook-id: the map is keyed by it. The log has one row per
      // request: failed with the receiver's 500 and a next attempt, until the one that succeeded, the last.
      const rows = flakyLog.filter((row) => row.eventId === event);
      expect(rows.length).toBe(requests.length);
      expect(rows.map((row) => row.attempt)).toEqual(rows.map((_, index) => index + 1));
      const last = rows.at(-1)!;
      expect(last).toMatchObject({ status: 'succeeded', responseStatus: 200, nextAttemptAt: null, error: null });
      for (const row of rows.slice(0, -1)) {
        expect(row).toMatchObject({ status: 'failed', responseStatus: 500, error: 'the receiver answered 500' });
        expect(row.nextAttemptAt).not.toBeNull();
      }
    }

    const hangingLog = await attemptsOf(hanging);
    for (const event of events.values()) {
      const rows = hangingLog.filter((row) => row.eventId === event);
      // The first attempt timed out at 10 s with no answer; the second succeeded.
      expect(rows.map((row) => row.status)).toEqual(['failed', 'succeeded']);
      expect(rows[0]).toMatchObject({ responseStatus: null, error: 'no answer within 10 s' });
      expect(rows[0].durationMs).toBeGreaterThanOrEqual(9_900);
      expect(rows[0].durationMs).toBeLessThan(12_000);
    }
    process.stdout.write(
      `[faults] webhooks, failing then recovering receiver: events=40 requests=${receiver.at('flaky').length} ` +
        `attempts=${flakyLog.length}; hanging receiver: requests=${receiver.at('hanging').length}\n`,
    );
    await removeEndpoint(flaky);
    await removeEndpoint(hanging);
  }, 90_000);

  it('Logbook killed with SIGKILL while deliveries are under way, then started again, delivers every event', async () => {
    const slow = await makeEndpoint('slow');
    let unanswered = 0;
    receiver.answer = () => {
      unanswered += 1;
      // Slow enough that the kill finds requests in flight.
      return answerLater(200, 1_500).finally(() => (unanswered -= 1));
    };
    const run = randomUUID();
    const writing = write(run, 400, 16);
    await waitFor('deliveries in flight', () => receiver.at('slow').length >= 20 && unanswered > 0, 20_000, 10);
    const inFlight = unanswered;
    logbook.child.kill('SIGKILL');
    await logbook.exited;
    await writing;
    await stopLogbook(logbook, `webhooks-${restarts++}`);
    const receivedBeforeKill = receiver.at('slow').length;

    await start();
    await signIn();
    const events = await eventsOfRun(run);
    // A job whose worker died is given to another once it expires (30 s).
    await deliveredAll(slow, events, 90_000);
    const byEvent = receivedBy(slow, events);
    expect([...events.values()].every((event) => byEvent.has(event))).toBe(true);

    // Each attempt cut off by the kill is in the log, failed as interrupted, and followed by the one that succeeded.
    await waitFor(
      'the attempt log to settle',
      async () => (await attemptsOf(slow)).every((row) => row.status !== 'pending'),
      30_000,
      500,
    );
    const log = await attemptsOf(slow);
    const interrupted = log.filter((row) => row.error?.startsWith('interrupted'));
    expect(interrupted.length).toBeGreaterThan(0);
    for (const row of interrupted) {
      expect(row.status).toBe('failed');
      const later = log.filter((other) => other.eventId === row.eventId && other.attempt > row.attempt);
      expect(later.some((other) => other.status === 'succeeded')).toBe(true);
    }
    expect(log.filter((row) => row.status === 'pending')).toEqual([]);
    for (const event of events.values()) {
      expect(log.filter((row) => row.eventId === event && row.status === 'succeeded').length).toBeGreaterThan(0);
    }
    process.stdout.write(
      `[faults] webhooks, SIGKILL during deliveries: activities=${events.size} inFlightAtKill=${inFlight} ` +
        `requestsBeforeKill=${receivedBeforeKill} requests=${receiver.at('slow').length} interrupted=${interrupted.length}\n`,
    );
    await removeEndpoint(slow);
  }, 150_000);

  it('PostgreSQL restarted while clients write: every stored activity has its event, delivered', async () => {
    const steady = await makeEndpoint('steady');
    receiver.answer = () => 200;
    const run = randomUUID();
    const tally = new Tally();
    let seq = 0;
    let running = true;
    const load = runWorkers(
      12,
      () => running,
      async (worker) => {
        const answer = await client.send('POST', '/api/v1/activities', {
          token: writers[worker % writers.length].token,
          body: activityBody(run, seq++),
          timeoutMs: 15_000,
        });
        tally.record(answer);
        if (answer.status !== 201) await sleep(50);
      },
    );
    await waitFor('some deliveries', () => receiver.at('steady').length >= 50, 20_000);
    await postgres.crash();
    await sleep(1_000);
    await postgres.server.start();
    await waitFor('writes to succeed again', async () => {
      const before = tally.count(201);
      await sleep(300);
      return tally.count(201) > before;
    });
    await sleep(2_000);
    running = false;
    await load;

    const events = await eventsOfRun(run);
    expect(events.size).toBeGreaterThanOrEqual(tally.count(201));
    await deliveredAll(steady, events, 90_000);
    const byEvent = receivedBy(steady, events);
    expect([...events.values()].every((event) => byEvent.has(event))).toBe(true);
    // Once all is delivered, no attempt is left pending: one the restart cut off is marked when its job runs again,
    // at once when its batch could be failed, or after the job expires (30 s) when even that was lost.
    await waitFor(
      'the attempt log to settle',
      async () => (await attemptsOf(steady)).every((row) => row.status !== 'pending'),
      75_000,
      500,
    );
    const log = await attemptsOf(steady);
    for (const event of events.values()) {
      expect(log.some((row) => row.eventId === event && row.status === 'succeeded')).toBe(true);
    }
    tally.print('webhooks, PostgreSQL restarted under load', {
      stored: events.size,
      requests: receiver.at('steady').length,
      attempts: log.length,
      interrupted: log.filter((row) => row.error?.startsWith('interrupted')).length,
    });
    await removeEndpoint(steady);
  }, 150_000);
});
