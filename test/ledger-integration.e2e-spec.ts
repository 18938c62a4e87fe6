import { Settings } from '../src/config/settings';
import { Transactions } from '../src/database/transactions';
import { LedgerIntegrator } from '../src/modules/ledger/ledger-integrator.service';
import { WebhookOutbox } from '../src/modules/webhooks/outbox/webhook-outbox';
import { LedgerKey } from '../src/modules/ledger/ledger-key';
import { LedgerRepository } from '../src/modules/ledger/ledger.repository';
import { createActivity } from './helpers/activities';
import { createUser, signIn, sql, TestUser } from './helpers/factories';
import { http } from './helpers/http';
import { IsolatedApp, startIsolatedApp } from './helpers/hostile';

describe('integration into the ledger', () => {
  let app: IsolatedApp;
  let user: TestUser;
  let admin: TestUser;
  const get = (path: string, token?: string) => http(`/api/v1${path}`, { token }, app.baseUrl);

  beforeAll(async () => {
    // The interval a deployment runs with by default.
    app = await startIsolatedApp('ledger_loop', { LEDGER_INTEGRATE_INTERVAL_MS: '1000' });
    user = await createUser({}, app.baseUrl);
    const first = await createUser({}, app.baseUrl);
    await sql(`UPDATE users SET role = 'ADMIN' WHERE id = $1`, [first.id], app.databaseUrl);
    admin = await signIn(first.email, first.password, app.baseUrl);
  });
  afterAll(async () => {
    await app.close();
  });

  it('gives a record its leaf within 2 seconds of its commit, on its own', async () => {
    const activity = await createActivity(user, {}, app.baseUrl);
    const started = Date.now();
    let status = 0;
    while (Date.now() - started < 5000) {
      status = (await get(`/activities/${activity.id}/proof`, user.accessToken)).status;
      if (status === 200) break;
      expect(status).toBe(409);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('appends each record once when instances integrate at the same time', async () => {
    const res = await http(
      '/api/v1/activities/batch',
      {
        method: 'POST',
        token: user.accessToken,
        body: { items: Array.from({ length: 1000 }, (_, i) => ({ action: 'RACE', metadata: { i } })) },
      },
      app.baseUrl,
    );
    expect(res.status).toBe(201);
    // Four integrators, as four instances would run them, each in its own transactions on the shared database.
    const integrators = Array.from(
      { length: 4 },
      () =>
        new LedgerIntegrator(
          app.app.get(LedgerRepository),
          app.app.get(Transactions),
          app.app.get(LedgerKey),
          app.app.get(Settings),
          app.app.get(WebhookOutbox),
        ),
    );
    await Promise.all(integrators.map((integrator) => integrator.drain()));
    await app.app.get(LedgerIntegrator).drain();
    const [counts] = await sql(
      `SELECT count(*)::int AS leaves, count(DISTINCT (kind, record_id))::int AS records,
              min(leaf_index)::int AS first, max(leaf_index)::int AS last,
              (SELECT count(*)::int FROM ledger_pending) AS waiting
         FROM ledger_leaves`,
      [],
      app.databaseUrl,
    );
    expect(counts.waiting).toBe(0);
    expect(counts.records).toBe(counts.leaves);
    expect([counts.first, counts.last]).toEqual([0, counts.leaves - 1]);
    const ids: number[] = res.body.data.map((activity: { id: number }) => activity.id);
    const [{ found }] = await sql(
      `SELECT count(*)::int AS found FROM ledger_leaves WHERE kind = 'activity' AND record_id = ANY($1)`,
      [ids],
      app.databaseUrl,
    );
    expect(found).toBe(ids.length);
    const verified = await get('/ledger/verify', admin.accessToken);
    expect(verified.body.data).toEqual({ valid: true, treeSize: counts.leaves, checked: counts.leaves, problems: [] });
  });

  it('puts integration off while requests keep the instance busy, for at most LEDGER_MAX_DEFER_MS', async () => {
    const leafOf = async (id: number) =>
      (await sql(`SELECT 1 FROM ledger_leaves WHERE kind = 'activity' AND record_id = $1`, [id], app.databaseUrl))
        .length > 0;
    // What a burst of requests does to the event loop: 80 ms of work in every 100.
    const busy = setInterval(() => {
      const until = Date.now() + 80;
      while (Date.now() < until);
    }, 100);
    let integrator: LedgerIntegrator | undefined;
    try {
      // Long enough for the app's own loop (every second) to have seen a busy second and put integration off.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const activity = await createActivity(user, {}, app.baseUrl);
      integrator = new LedgerIntegrator(
        app.app.get(LedgerRepository),
        app.app.get(Transactions),
        app.app.get(LedgerKey),
        {
          ...app.app.get(Settings),
          ledgerIntegrateIntervalMs: 100,
          ledgerMaxDeferMs: 2000,
        },
        app.app.get(WebhookOutbox),
      );
      const started = Date.now();
      integrator.onApplicationBootstrap();
      while (!(await leafOf(activity.id)) && Date.now() - started < 8000) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const waited = Date.now() - started;
      expect(await leafOf(activity.id)).toBe(true);
      expect(waited).toBeGreaterThanOrEqual(1900);
      expect(waited).toBeLessThan(5000);
    } finally {
      clearInterval(busy);
      await integrator?.onApplicationShutdown();
    }
    // Not busy: the next record is taken at once (the app's own loop, within about a second).
    const next = await createActivity(user, {}, app.baseUrl);
    const started = Date.now();
    while (!(await leafOf(next.id)) && Date.now() - started < 15000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await leafOf(next.id)).toBe(true);
    expect(Date.now() - started).toBeLessThan(3000);
  }, 30_000);
});
