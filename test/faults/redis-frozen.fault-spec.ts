import { randomUUID } from 'node:crypto';
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningLogbook } from '../helpers/process';
import {
  activityBody,
  Answer,
  FaultPostgres,
  FaultRedis,
  isErrorEnvelope,
  LoadClient,
  registerUsers,
  startLogbook,
  stopLogbook,
  Tally,
  waitFor,
} from './kit';

/** What any request may wait on a hung Redis: one call's budget, with room for the work itself on a busy machine. */
const BOUND_MS = 1500;
/** How long a request is waited for while Redis is frozen, before it counts as unanswered. */
const WAIT_MS = 3000;
const PASSWORD = 'correct horse battery';
const MAX_FAILURES_PER_EMAIL = 3;
const RATE_LIMIT = 100_000;

describe('Redis hangs (frozen with SIGSTOP: connections open, no answers)', () => {
  let postgres: FaultPostgres;
  let redis: FaultRedis;
  let logbook: RunningLogbook;
  let client: LoadClient;

  beforeAll(async () => {
    [postgres, redis] = await Promise.all([FaultPostgres.start(), FaultRedis.start()]);
    // The rate limit and the login throttle on, so that both count in Redis.
    logbook = await startLogbook({
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      RATE_LIMIT_MAX: String(RATE_LIMIT),
      LOGIN_MAX_FAILURES_PER_EMAIL: String(MAX_FAILURES_PER_EMAIL),
    });
    client = new LoadClient(logbook.baseUrl, 8);
  });

  afterAll(async () => {
    client?.close();
    redis?.resume();
    await stopLogbook(logbook, 'redis-frozen');
    await redis?.kill();
    await postgres?.dispose();
  });

  /** One request of each kind that touches Redis, in the order of an account's life, each with its answer. */
  async function journey(label: string, timeoutMs = 10_000): Promise<Map<string, Answer>> {
    const answers = new Map<string, Answer>();
    const send = async (name: string, method: string, path: string, options = {}) => {
      const answer = await client.send(method, path, { timeoutMs, ...options });
      answers.set(name, answer);
      return answer;
    };
    const email = `frozen-${label}-${randomUUID()}@example.com`;
    const registered = await send('register', 'POST', '/api/v1/auth/register', {
      body: { email, password: PASSWORD, name: `Frozen ${label}` },
    });
    await send('login (wrong password)', 'POST', '/api/v1/auth/login', {
      body: { email, password: 'wrong password!' },
    });
    const signedIn = await send('login', 'POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
    const refreshed = await send('refresh', 'POST', '/api/v1/auth/refresh', {
      body: { refreshToken: signedIn.body?.data?.refreshToken ?? registered.body?.data?.refreshToken },
    });
    const token: string = refreshed.body?.data?.accessToken;
    await send('write', 'POST', '/api/v1/activities', { token, body: activityBody(label, 1) });
    await send('list', 'GET', '/api/v1/activities?limit=10', { token });
    await send('list again', 'GET', '/api/v1/activities?limit=10', { token });
    await send('logout', 'POST', '/api/v1/auth/logout', { token });
    await send('me after logout', 'GET', '/api/v1/auth/me', { token });
    return answers;
  }

  const EXPECTED: Record<string, number> = {
    register: 201,
    'login (wrong password)': 401,
    login: 200,
    refresh: 200,
    write: 201,
    list: 200,
    'list again': 200,
    logout: 200,
    'me after logout': 401,
  };

  /** Every answer with its expected status, each within `boundMs`; the rate limit's headers on each. */
  function expectJourney(answers: Map<string, Answer>, boundMs = BOUND_MS) {
    const seen = Object.fromEntries([...answers].map(([name, answer]) => [name, answer.status]));
    expect(seen).toEqual(EXPECTED);
    for (const [name, answer] of answers) {
      expect({ name, fast: answer.ms < boundMs, ms: Math.round(answer.ms) }).toEqual(
        expect.objectContaining({ name, fast: true }),
      );
      expect(answer.headers['ratelimit-limit']).toBe(String(RATE_LIMIT));
    }
  }

  /** A new account's email. */
  async function newAccount(label: string): Promise<string> {
    const email = `${label}-${randomUUID()}@example.com`;
    const answer = await client.send('POST', '/api/v1/auth/register', {
      body: { email, password: PASSWORD, name: label },
      timeoutMs: 10_000,
    });
    expect(answer.status).toBe(201);
    return email;
  }

  /** `MAX_FAILURES_PER_EMAIL` wrong passwords, then the right one: 429 with Retry-After, password unchecked. */
  async function lockOut(email: string, timeoutMs = 10_000): Promise<Answer[]> {
    const login = (password: string) =>
      client.send('POST', '/api/v1/auth/login', { body: { email, password }, timeoutMs });
    const answers: Answer[] = [];
    for (let i = 0; i < MAX_FAILURES_PER_EMAIL; i += 1) answers.push(await login('wrong password!'));
    answers.push(await login(PASSWORD));
    return answers;
  }

  it('answers every kind of request within about a second while frozen, and uses Redis again once thawed', async () => {
    const [warm] = await registerUsers(client, 1, 'frozen-warm');
    const before = await journey('before');
    expectJourney(before, 10_000);
    const tally = new Tally();

    redis.pause();
    const frozen: Map<string, Answer>[] = [];
    let health: Answer | undefined;
    let locked: Answer[] = [];
    try {
      // At once (the first Redis call of each feature meets the hang), then after the breaker's pause has lapsed.
      frozen.push(await journey('frozen-1', WAIT_MS));
      await sleep(1200);
      frozen.push(await journey('frozen-2', WAIT_MS));
      // Concurrent requests while Redis is being found out: each pays at most one budget.
      await sleep(1200);
      const concurrent = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          client.send('POST', '/api/v1/activities', {
            token: warm.token,
            body: activityBody('frozen', i),
            timeoutMs: WAIT_MS,
          }),
        ),
      );
      for (const answer of concurrent) tally.record(answer);
      health = await client.send('GET', '/health', { timeoutMs: WAIT_MS });
      // The login throttle counts in this process meanwhile: a lock still holds.
      locked = await lockOut(await newAccount('frozen-locker'), WAIT_MS);
    } finally {
      redis.resume();
    }
    for (const answers of frozen) for (const answer of answers.values()) tally.record(answer);
    for (const answer of locked) tally.record(answer);
    tally.print('Redis frozen', { journeys: frozen.length });

    for (const answers of frozen) expectJourney(answers);
    expect(tally.count(201)).toBeGreaterThanOrEqual(6);
    expect(tally.longestMs).toBeLessThan(BOUND_MS);
    expect(health?.status).toBe(503);
    expect(health?.body.details.cache).toEqual({ status: 'down', store: 'redis' });
    expect(health?.ms).toBeLessThan(BOUND_MS);
    expect(locked.map((answer) => answer.status)).toEqual([401, 401, 401, 429]);
    expect(isErrorEnvelope(locked[3], 429)).toBe(true);

    // Thawed: Redis answers again, caches again, and counts for the login throttle again.
    await waitFor('/health up after Redis thawed', async () => (await client.send('GET', '/health')).status === 200);
    const after = await journey('after');
    expectJourney(after, 10_000);
    await waitFor(
      'a cache hit after Redis thawed',
      async () =>
        (await client.send('GET', '/api/v1/activities?limit=10', { token: warm.token })).headers['x-cache'] === 'HIT',
      10_000,
      100,
    );
    // Counted in Redis again: the new email's count is a key there.
    const email = await newAccount('thawed-locker');
    const keysBefore = await redisKeys(redis, '*login-failures:email*');
    const relocked = await lockOut(email);
    expect(relocked.map((answer) => answer.status)).toEqual([401, 401, 401, 429]);
    expect(await redisKeys(redis, '*login-failures:email*')).toBe(keysBefore + 1);
  });
});

/** How many keys of the pattern Redis holds, asked over a plain socket (the scenario has no Redis client). */
function redisKeys(redis: FaultRedis, pattern: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port: redis.port });
    socket.setTimeout(2000, () => (socket.destroy(), reject(new Error('Redis did not answer KEYS'))));
    socket.once('error', reject);
    socket.once('connect', () => socket.write(`KEYS ${pattern}\r\n`));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(Number(/^\*(\d+)/.exec(data.toString())?.[1] ?? -1));
    });
  });
}
