import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningLogbook } from '../helpers/process';
import {
  activityBody,
  Answer,
  FaultPostgres,
  FaultRedis,
  LoadClient,
  LoadUser,
  registerUsers,
  runWorkers,
  startLogbook,
  stopLogbook,
  Tally,
  waitFor,
} from './kit';

const CLIENTS = 8;

type Phase = 'up' | 'frozen' | 'thawed' | 'killed' | 'back';

/** What one phase of the scenario saw. */
class PhaseTally extends Tally {
  hits = 0;
  /** The /health answers, with when each was asked. */
  health: { at: number; answer: Answer }[] = [];
  /** While the fault was on: from half a second after it began (Logbook needs a moment to notice) to its end. */
  faultFrom = Infinity;
  faultUntil = Infinity;

  healthDuringFault(): Answer[] {
    return this.health
      .filter(({ at, answer }) => at >= this.faultFrom && at + answer.ms < this.faultUntil)
      .map(({ answer }) => answer);
  }
}

describe('Redis goes away while clients read and write', () => {
  let postgres: FaultPostgres;
  let redis: FaultRedis;
  let logbook: RunningLogbook;
  let client: LoadClient;

  beforeAll(async () => {
    [postgres, redis] = await Promise.all([FaultPostgres.start(), FaultRedis.start()]);
    logbook = await startLogbook({ DATABASE_URL: postgres.url, REDIS_URL: redis.url });
    client = new LoadClient(logbook.baseUrl, CLIENTS + 4);
  });

  afterAll(async () => {
    client?.close();
    await stopLogbook(logbook, 'redis-down');
    await redis?.kill();
    await postgres?.dispose();
  });

  it('serves from the database without waiting on the cache, reports it down, and caches again when it is back', async () => {
    const users = await registerUsers(client, 4, 'redis-reader');
    const [probe, leaving] = await registerUsers(client, 2, 'redis-probe');
    const run = randomUUID();
    let seq = 0;
    const write = (user: LoadUser) =>
      client.send('POST', '/api/v1/activities', { token: user.token, body: activityBody(run, (seq += 1)) });
    const list = (user: LoadUser) => client.send('GET', '/api/v1/activities?limit=10', { token: user.token });
    for (const user of [...users, probe]) for (let i = 0; i < 5; i += 1) expect((await write(user)).status).toBe(201);

    const phases = new Map<Phase, PhaseTally>();
    let phase = new PhaseTally();
    const enter = (name: Phase) => {
      phase = new PhaseTally();
      phases.set(name, phase);
      return phase;
    };
    enter('up');
    const overall = new Tally();
    let running = true;
    // Mostly list reads (the cached path), some writes (which invalidate), and /health twice a second.
    const load = runWorkers(
      CLIENTS,
      () => running,
      async (worker) => {
        const user = users[worker % users.length];
        // The phase the request was sent in: one sent while Redis was still there may be answered from it after.
        const current = phase;
        const answer = seq % 5 === worker % 5 ? await write(user) : await list(user);
        current.record(answer);
        overall.record(answer);
        if (answer.headers['x-cache'] === 'HIT') current.hits += 1;
      },
    );
    const health = runWorkers(
      1,
      () => running,
      async () => {
        const current = phase;
        const at = Date.now();
        current.health.push({ at, answer: await client.send('GET', '/health', { timeoutMs: 10_000 }) });
        await sleep(500);
      },
    );

    let resumedMs = 0;
    let probeSawItsWrite = false;
    try {
      await sleep(3000);
      // The probe's list is cached; it then writes while Redis cannot take the invalidation.
      await list(probe);
      expect((await list(probe)).headers['x-cache']).toBe('HIT');

      const frozen = enter('frozen');
      redis.pause();
      frozen.faultFrom = Date.now() + 500;
      // Once Logbook has noticed, it leaves Redis alone for a while: the probe's invalidation is not even sent.
      await sleep(2000);
      const written = await write(probe);
      expect(written.status).toBe(201);
      // A logout announces its revocation through Redis: not waited for beyond a moment.
      const logout = await client.send('POST', '/api/v1/auth/logout', { token: leaving.token });
      expect(logout.status).toBe(200);
      expect(logout.ms).toBeLessThan(1500);
      expect((await client.send('GET', '/api/v1/auth/me', { token: leaving.token })).status).toBe(401);
      await sleep(2000);
      frozen.faultUntil = Date.now();
      redis.resume();
      const thawed = enter('thawed');
      // Redis is back with everything it held, the probe's list from before its write included.
      await waitFor('a cache hit after Redis thawed', () => thawed.hits > 0, 10_000, 10);
      const after = await list(probe);
      probeSawItsWrite = after.body.data.some((activity: { id: number }) => activity.id === written.body.data.id);

      // Counted from the moment it is gone: a request under way before then may still have been answered from it.
      await redis.kill();
      const killed = enter('killed');
      killed.faultFrom = Date.now() + 500;
      await sleep(4000);

      killed.faultUntil = Date.now();
      const back = enter('back');
      await redis.start();
      const backAt = Date.now();
      await waitFor('a cache hit after Redis is back', () => back.hits > 0, 30_000, 10);
      resumedMs = Date.now() - backAt;
      await waitFor('/health up after Redis is back', () => back.health.some(({ answer }) => answer.status === 200));
      await sleep(1000);
    } finally {
      running = false;
      await Promise.all([load, health]);
    }

    const rows = await postgres.sql<{ count: string }>(
      `SELECT count(*) AS count FROM activities WHERE metadata->>'run' = $1`,
      [run],
    );
    const of = (name: Phase) => phases.get(name)!;
    const longestWithoutCache = Math.max(of('frozen').longestMs, of('killed').longestMs);
    overall.print('Redis down under read and write load', {
      '201s': overall.count(201),
      rowsFound: rows[0].count,
      '5xx': overall.serverErrors,
      hitsUp: of('up').hits,
      hitsFrozen: of('frozen').hits,
      hitsKilled: of('killed').hits,
      hitsBack: of('back').hits,
      longestFrozenMs: Math.round(of('frozen').longestMs),
      longestKilledMs: Math.round(of('killed').longestMs),
      cachingResumedMs: resumedMs,
    });

    expect(overall.unexpected(200, 201)).toEqual({});
    expect(overall.failures).toBe(0);
    expect(probeSawItsWrite).toBe(true);
    expect(of('up').hits).toBeGreaterThan(0);
    expect(of('killed').hits).toBe(0);
    // Without the cache every answer comes from the database, none held up by more than about a second.
    expect(longestWithoutCache).toBeLessThan(1500);
    for (const name of ['frozen', 'killed'] as const) {
      const down = of(name).healthDuringFault();
      expect(down.length).toBeGreaterThan(0);
      for (const answer of down) {
        expect(answer.status).toBe(503);
        expect(answer.body.details).toEqual({ database: { status: 'up' }, cache: { status: 'down', store: 'redis' } });
        expect(answer.ms).toBeLessThan(1500);
      }
    }
    expect(resumedMs).toBeLessThan(15_000);
    expect(of('up').health.every(({ answer }) => answer.status === 200)).toBe(true);
  });
});
