import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningLogbook } from '../helpers/process';
import { random } from '../helpers/random';
import {
  activityBody,
  Answer,
  FaultPostgres,
  LoadClient,
  LoadUser,
  registerUsers,
  runWorkers,
  startLogbook,
  stopLogbook,
  Tally,
} from './kit';

const LOAD_MS = Number(process.env.FAULTS_SATURATION_MS ?? 60_000);
/**
 * Clients at once: thirty times the requests Logbook admits at a time (CONCURRENCY_LIMIT, 100 by default), enough
 * that without admission control requests wait past the pool's 5 s for a connection and fail with 503.
 */
const CLIENTS = 3000;
/** The clients arrive over the first seconds (all at once, their connections would overflow the listen backlog). */
const RAMP_UP_MS = 15_000;
const MAX_ATTEMPTS = 6;
const BATCH = 20;

type Kind = 'plain' | 'keyed' | 'batch' | 'list' | 'fresh-list';

/**
 * A minute of mixed load from {@link CLIENTS} clients, each starting its next errand (a write, a keyed write sent
 * twice, a batch, a list read) as soon as the last one is done: far more than Logbook serves at once. A refused
 * client honours Retry-After (429 or 503) and tries again with exponential backoff, up to {@link MAX_ATTEMPTS}
 * times, as a well-behaved client does, then gives that errand up.
 */
describe('saturation: a minute of mixed load above capacity', () => {
  let postgres: FaultPostgres;
  let logbook: RunningLogbook;
  let client: LoadClient;

  beforeAll(async () => {
    postgres = await FaultPostgres.start();
    // FAULTS_CONCURRENCY_LIMIT=0 shows what happens without admission control: 503s, and waits of 20 s and more.
    const limit = process.env.FAULTS_CONCURRENCY_LIMIT;
    logbook = await startLogbook({
      DATABASE_URL: postgres.url,
      RATE_LIMIT_MAX: '0',
      ...(limit === undefined ? {} : { CONCURRENCY_LIMIT: limit }),
    });
    client = new LoadClient(logbook.baseUrl, CLIENTS);
  });

  afterAll(async () => {
    client?.close();
    await stopLogbook(logbook, 'saturation');
    await postgres?.dispose();
  });

  it('answers no 5xx, stores exactly what it answered 201, and never duplicates a retried Idempotency-Key', async () => {
    const users = await registerUsers(client, 8, 'saturation');
    const run = randomUUID();
    const rng = random(7);
    let seq = 0;
    for (const user of users) {
      const items = Array.from({ length: 50 }, () => activityBody(run, (seq += 1), { seed: true }));
      const seeded = await client.send('POST', '/api/v1/activities/batch', { token: user.token, body: { items } });
      expect(seeded.status).toBe(201);
    }

    const tally = new Tally();
    const created = new Set<string>();
    const keyedIds = new Map<string, Set<string>>();
    let retriesAfterRefusal = 0;
    let gaveUp = 0;
    let replays = 0;
    const unexpected: { kind: Kind; answer: Answer }[] = [];

    /** One request, sent again after a 429 or 503 as its Retry-After says. */
    const attempt = async (kind: Kind, send: () => Promise<Answer>): Promise<Answer | undefined> => {
      for (let tries = 1; ; tries += 1) {
        const answer = await send();
        tally.record(answer);
        if (answer.status !== 429 && answer.status !== 503) {
          if (answer.error || answer.status >= 500 || ![200, 201].includes(answer.status)) {
            unexpected.push({ kind, answer });
          }
          return answer;
        }
        if (tries === MAX_ATTEMPTS) {
          gaveUp += 1;
          return undefined;
        }
        retriesAfterRefusal += 1;
        // Retry-After at least, doubling with each refusal, with jitter: what a well-behaved client does.
        const retryAfterMs = Number(answer.headers['retry-after'] ?? 1) * 1000;
        await sleep(Math.max(retryAfterMs, 500 * 2 ** (tries - 1)) * (0.5 + rng.next()));
      }
    };
    const post = (user: LoadUser, path: string, body: unknown, key?: string) => () =>
      client.send('POST', path, { token: user.token, body, headers: key ? { 'idempotency-key': key } : {} });

    /** One client's errand, by kind. */
    const errand = async (kind: Kind, user: LoadUser) => {
      const n = (seq += 1);
      if (kind === 'plain') {
        const answer = await attempt(kind, post(user, '/api/v1/activities', activityBody(run, n)));
        if (answer?.status === 201) created.add(String(answer.body.data.id));
      } else if (kind === 'batch') {
        const items = Array.from({ length: BATCH }, (_, i) => activityBody(run, n, { item: i }));
        const answer = await attempt(kind, post(user, '/api/v1/activities/batch', { items }));
        if (answer?.status === 201) for (const activity of answer.body.data) created.add(String(activity.id));
      } else if (kind === 'keyed') {
        // Sent twice at once (a double submit) one time in three, and always once more after its answer (a client
        // that lost the answer and retries): every 201 must name the same activity.
        const key = `saturation-${run}-${n}`;
        const send = post(user, '/api/v1/activities', activityBody(run, n, { key }), key);
        const ids = new Set<string>();
        keyedIds.set(key, ids);
        const first = await Promise.all(
          rng.chance(1 / 3) ? [attempt(kind, send), attempt(kind, send)] : [attempt(kind, send)],
        );
        const again = await attempt(kind, send);
        for (const answer of [...first, again]) if (answer?.status === 201) ids.add(String(answer.body.data.id));
        replays += [...first, again].filter((answer) => answer?.status === 201).length - Math.min(ids.size, 1);
      } else {
        const path = `/api/v1/activities?limit=20&page=${rng.int(1, 3)}`;
        const headers: Record<string, string> = kind === 'fresh-list' ? { 'cache-control': 'no-cache' } : {};
        await attempt(kind, () => client.send('GET', path, { token: user.token, headers }));
      }
    };
    const pick = (): Kind => {
      const roll = rng.next();
      if (roll < 0.35) return 'plain';
      if (roll < 0.55) return 'keyed';
      if (roll < 0.6) return 'batch';
      if (roll < 0.9) return 'list';
      return 'fresh-list';
    };

    let errands = 0;
    let running = true;
    const arrived: boolean[] = [];
    const loadStart = Date.now();
    const load = runWorkers(
      CLIENTS,
      () => running,
      async (worker) => {
        if (!arrived[worker]) await sleep((worker / CLIENTS) * RAMP_UP_MS);
        arrived[worker] = true;
        errands += 1;
        await errand(pick(), users[worker % users.length]);
      },
    );
    await sleep(LOAD_MS);
    running = false;
    await load;
    const elapsedS = (Date.now() - loadStart) / 1000;

    const rows = await postgres.sql<{ id: string }>(
      `SELECT id::text AS id FROM activities WHERE metadata->>'run' = $1 AND NOT metadata ? 'seed'`,
      [run],
    );
    const duplicateKeys = await postgres.sql<{ key: string; count: string }>(
      `SELECT metadata->>'key' AS key, count(*) AS count FROM activities
        WHERE metadata->>'run' = $1 AND metadata ? 'key' GROUP BY 1 HAVING count(*) > 1`,
      [run],
    );
    for (const ids of keyedIds.values()) for (const id of ids) created.add(id);
    const stored = new Set(rows.map((row) => row.id));
    const lost = [...created].filter((id) => !stored.has(id));
    const keysWithTwoIds = [...keyedIds.values()].filter((ids) => ids.size > 1).length;
    // How long Logbook itself took over the requests it admitted, from its own log lines.
    let longestAdmittedMs = 0;
    for (const line of logbook.output().split('\n')) {
      if (!line.includes('"request completed"')) continue;
      const { status, durationMs } = JSON.parse(line) as { status: number; durationMs: number };
      if (status !== 429) longestAdmittedMs = Math.max(longestAdmittedMs, durationMs);
    }
    tally.print('saturation', {
      clients: CLIENTS,
      errands,
      errandsPerS: Math.round(errands / elapsedS),
      '201sPerS': Math.round(tally.count(201) / elapsedS),
      '201s': tally.count(201),
      activitiesCreated: created.size,
      rowsFound: stored.size,
      '5xx': tally.serverErrors,
      '429s': tally.count(429),
      retriesAfterRefusal,
      gaveUp,
      idempotentReplays: replays,
      duplicateKeys: duplicateKeys.length,
      longestAdmittedInLogbookMs: Math.round(longestAdmittedMs),
    });

    expect(tally.serverErrors).toBe(0);
    expect(
      unexpected.slice(0, 5).map(({ kind, answer }) => ({ kind, status: answer.status, error: answer.error })),
    ).toEqual([]);
    expect(lost).toEqual([]);
    expect(stored.size).toBe(created.size);
    expect(duplicateKeys).toEqual([]);
    expect(keysWithTwoIds).toBe(0);
    // Above capacity: many were refused; the ones admitted were served at Logbook's usual pace, none kept waiting.
    expect(tally.count(429)).toBeGreaterThan(0);
    expect(longestAdmittedMs).toBeLessThan(2500);
    expect(tally.longestMs).toBeLessThan(15_000);
  });
});
