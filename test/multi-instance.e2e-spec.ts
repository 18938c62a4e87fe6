import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { FaultRedis } from './faults/kit';
import { startTestApp } from './helpers/app';
import { createAdmin, createUser } from './helpers/factories';
import { http } from './helpers/http';
import { RunningLogbook, spawnLogbook } from './helpers/process';
import { createDatabase, dropDatabase } from './setup/test-database';

/** Polls briefly: the revocation message crosses Redis between the two instances. */
async function statusWithin(ms: number, request: () => Promise<{ status: number }>, expected: number): Promise<number> {
  const deadline = Date.now() + ms;
  let status = (await request()).status;
  while (status !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    status = (await request()).status;
  }
  return status;
}

const JWT_SECRET = 'logbook-test-secret-0123456789-abcdefghij';
const redisServer = spawnSync('redis-server', ['--version']).status === 0;

// The cache, its invalidation, session revocation and rate limits live in Redis, so they hold across
// instances. Two Logbook processes (as in production: passport keeps one strategy per process) on the suite's
// PostgreSQL and a Redis server of this file's own, on a spare port. Where there is no redis-server (a machine with
// only Node.js) Logbook is meant to run as one instance, and this is skipped; CI has one.
(redisServer ? describe : describe.skip)('two instances sharing PostgreSQL and Redis', () => {
  let redis: FaultRedis;
  let first: RunningLogbook;
  let second: RunningLogbook;
  const instance = (env: Record<string, string> = {}) =>
    spawnLogbook({ DATABASE_URL: process.env.TEST_DATABASE_URL!, REDIS_URL: redis.url, JWT_SECRET, ...env }).ready;

  beforeAll(async () => {
    redis = await FaultRedis.start();
    [first, second] = await Promise.all([instance(), instance()]);
  });
  afterAll(async () => {
    for (const running of [first, second]) {
      running?.child.kill('SIGTERM');
      await running?.exited;
    }
    await redis?.kill();
  });

  it('a logout through one instance ends the token on the other, which had it cached as live', async () => {
    const user = await createUser();
    const meOnOther = () => http('/api/v1/auth/me', { token: user.accessToken }, second.baseUrl);
    expect((await meOnOther()).status).toBe(200);
    expect((await http('/api/v1/auth/logout', { method: 'POST', token: user.accessToken }, first.baseUrl)).status).toBe(
      200,
    );
    expect(await statusWithin(200, meOnOther, 401)).toBe(401);
  });

  it('a deletion through the other instance ends the user’s tokens on the first', async () => {
    const admin = await createAdmin();
    const user = await createUser();
    const meOnFirst = () => http('/api/v1/auth/me', { token: user.accessToken }, first.baseUrl);
    expect((await meOnFirst()).status).toBe(200);
    expect(
      (await http(`/api/v1/users/${user.id}`, { method: 'DELETE', token: admin.accessToken }, second.baseUrl)).status,
    ).toBe(200);
    expect(await statusWithin(200, meOnFirst, 401)).toBe(401);
  });

  it('an API key revoked through one instance stops at once on the other, which had it cached', async () => {
    const user = await createUser();
    const created = await http(
      '/api/v1/api-keys',
      { method: 'POST', token: user.accessToken, body: { name: 'two instances', scopes: ['activities:read'] } },
      first.baseUrl,
    );
    expect(created.status).toBe(201);
    const listOnSecond = () =>
      http('/api/v1/activities', { headers: { 'x-api-key': created.body.data.key } }, second.baseUrl);
    expect((await listOnSecond()).status).toBe(200);
    expect((await listOnSecond()).status).toBe(200);
    const revoked = await http(
      `/api/v1/api-keys/${created.body.data.id}`,
      { method: 'DELETE', token: user.accessToken },
      first.baseUrl,
    );
    expect(revoked.status).toBe(200);
    expect(await statusWithin(200, listOnSecond, 401)).toBe(401);
  });

  it('a key whose user is demoted through one instance loses the ADMIN’s routes on the other', async () => {
    const admin = await createAdmin();
    const other = await createAdmin();
    const created = await http(
      '/api/v1/api-keys',
      { method: 'POST', token: other.accessToken, body: { name: 'auditor', scopes: ['audit:read'] } },
      first.baseUrl,
    );
    const auditOnSecond = () =>
      http('/api/v1/audit-logs', { headers: { 'x-api-key': created.body.data.key } }, second.baseUrl);
    expect((await auditOnSecond()).status).toBe(200);
    const demoted = await http(
      `/api/v1/users/${other.id}`,
      { method: 'PATCH', token: admin.accessToken, body: { role: 'PARTICIPANT' } },
      first.baseUrl,
    );
    expect(demoted.status).toBe(200);
    expect(await statusWithin(200, auditOnSecond, 403)).toBe(403);
  });

  it('never serves a list through one instance that is stale after a write through the other', async () => {
    const user = await createUser();
    const admin = await createAdmin();
    const list = (token: string, baseUrl: string) => http('/api/v1/activities', { token }, baseUrl);
    // Both lists cached on the other instance: a MISS, then a HIT.
    for (const token of [user.accessToken, admin.accessToken]) {
      expect((await list(token, second.baseUrl)).headers.get('x-cache')).toBe('MISS');
      expect((await list(token, second.baseUrl)).headers.get('x-cache')).toBe('HIT');
    }
    const created = await http(
      '/api/v1/activities',
      { method: 'POST', token: user.accessToken, body: { action: 'WRITTEN_ON_FIRST' } },
      first.baseUrl,
    );
    expect(created.status).toBe(201);
    for (const token of [user.accessToken, admin.accessToken]) {
      const after = await list(token, second.baseUrl);
      expect(after.headers.get('x-cache')).toBe('MISS');
      expect(after.body.data.map((activity: { id: number }) => activity.id)).toContain(created.body.data.id);
    }
    // One cache for both: the first instance is answered from the page the other one just read...
    const shared = await list(user.accessToken, first.baseUrl);
    expect(shared.headers.get('x-cache')).toBe('HIT');
    expect(shared.body.data.map((activity: { id: number }) => activity.id)).toContain(created.body.data.id);
    // ...and a status change through the other instance is read fresh through the first.
    const changed = await http(
      `/api/v1/activities/${created.body.data.id}/status`,
      { method: 'PATCH', token: user.accessToken, body: { status: 'DONE' } },
      second.baseUrl,
    );
    expect(changed.status).toBe(200);
    const fresh = await list(user.accessToken, first.baseUrl);
    expect(fresh.headers.get('x-cache')).toBe('MISS');
    expect(fresh.body.data.find((activity: { id: number }) => activity.id === created.body.data.id).status).toBe(
      'DONE',
    );
  });

  it('counts one client’s requests to both instances against one rate limit', async () => {
    const limited = {
      RATE_LIMIT_MAX: '5',
      RATE_LIMIT_WINDOW: '1h',
      TRUST_PROXY: 'true',
      LOG_LEVEL: 'silent',
      REDIS_URL: redis.url,
    };
    const [left, right] = await Promise.all([startTestApp(limited), startTestApp(limited)]);
    try {
      // A client address of this test's own, so no other run's count (in the shared Redis) is added.
      const headers = { 'x-forwarded-for': `10.${randomBytes(3).join('.')}` };
      const statuses: number[] = [];
      for (let sent = 0; sent < 6; sent++) {
        const baseUrl = sent % 2 === 0 ? left.baseUrl : right.baseUrl;
        statuses.push((await http('/api/v1/auth/me', { headers }, baseUrl)).status);
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    } finally {
      await Promise.all([left.close(), right.close()]);
    }
  });

  it('keeps two deployments that share one Redis apart: user 1 of one never reads user 1 of the other', async () => {
    const names = [`logbook_tenant_a_${process.pid}`, `logbook_tenant_b_${process.pid}`];
    // Each deployment is a process of its own, as in production (passport keeps one strategy per process).
    const running: RunningLogbook[] = [];
    try {
      for (const name of names) {
        const url = await createDatabase(process.env.TEST_ADMIN_DATABASE_URL!, name);
        running.push(
          await spawnLogbook({
            DATABASE_URL: url,
            REDIS_URL: redis.url,
            JWT_SECRET,
          }).ready,
        );
      }
      const [a, b] = await Promise.all(running.map((tenant) => createUser({}, tenant.baseUrl)));
      expect([a.id, b.id]).toEqual([1, 1]); // same id, role and query: the same cache key but for the prefix
      const posted = await http(
        '/api/v1/activities',
        { method: 'POST', token: a.accessToken, body: { action: 'ONLY_IN_A' } },
        running[0].baseUrl,
      );
      expect(posted.status).toBe(201);
      for (const expected of ['MISS', 'HIT']) {
        const res = await http('/api/v1/activities', { token: a.accessToken }, running[0].baseUrl);
        expect(res.headers.get('x-cache')).toBe(expected);
      }
      const other = await http('/api/v1/activities', { token: b.accessToken }, running[1].baseUrl);
      expect(other.headers.get('x-cache')).toBe('MISS');
      expect(other.body.data).toEqual([]);
    } finally {
      for (const tenant of running) {
        tenant.child.kill('SIGTERM');
        await tenant.exited;
      }
      for (const name of names) await dropDatabase(process.env.TEST_ADMIN_DATABASE_URL!, name);
    }
  });
});
