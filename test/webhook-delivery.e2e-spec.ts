import { Webhook } from 'standardwebhooks';
import { LedgerIntegrator } from '../src/modules/ledger/ledger-integrator.service';
import { WebhookDeliveryService } from '../src/modules/webhooks/webhook-delivery.service';
import { createUser, signIn, sql, TestUser } from './helpers/factories';
import { IsolatedApp, startIsolatedApp } from './helpers/hostile';
import { http } from './helpers/http';
import { Received, WebhookReceiver } from './helpers/webhook-receiver';

const API = '/api/v1';

/** The standardwebhooks package (not Logbook's code) checks every signature: it throws unless one matches. */
function verified(secret: string, received: Received): any {
  const headers = {
    'webhook-id': String(received.headers['webhook-id']),
    'webhook-timestamp': String(received.headers['webhook-timestamp']),
    'webhook-signature': String(received.headers['webhook-signature']),
  };
  return new Webhook(secret).verify(received.body, headers);
}

describe('webhook delivery', () => {
  let logbook: IsolatedApp;
  let admin: TestUser;
  let user: TestUser;
  let receiver: WebhookReceiver;
  const call = (method: string, path: string, body?: unknown, token = admin.accessToken) =>
    http(`${API}${path}`, { method, body, token }, logbook.baseUrl);
  /** An endpoint at a path of its own on the receiver, so that what another test's endpoint still gets is apart. */
  const makeEndpoint = async (events: string[], path: string) => {
    const res = await call('POST', '/webhooks', { url: `${receiver.url}/${path}`, events });
    expect(res.status).toBe(201);
    return res.body.data as { id: number; secret: string };
  };
  const deliveriesOf = async (id: number) => (await call('GET', `/webhooks/${id}/deliveries?limit=100`)).body.data;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    // A database of its own: every instance on a database delivers its events, and this one's schedule is short.
    logbook = await startIsolatedApp('webhooks', {
      LOG_LEVEL: 'silent',
      WEBHOOK_RETRY_SCHEDULE: '1s,2s',
      WEBHOOK_DISABLE_AFTER: '2s',
    });
    const someone = await createUser({}, logbook.baseUrl);
    await sql(`UPDATE users SET role = 'ADMIN' WHERE id = $1`, [someone.id], logbook.databaseUrl);
    admin = await signIn(someone.email, someone.password, logbook.baseUrl);
    user = await createUser({}, logbook.baseUrl);
  });
  afterAll(async () => {
    await logbook?.close();
    await receiver?.close();
  });
  beforeEach(() => {
    receiver.received.length = 0;
    receiver.answer = () => 200;
  });
  // Whatever a test made, passed or not, gets nothing of the next one's events.
  afterEach(async () => {
    for (const { id } of (await call('GET', '/webhooks?limit=100')).body.data) await call('DELETE', `/webhooks/${id}`);
  });

  it('sends an activity as created, within a second or so, signed per Standard Webhooks', async () => {
    const endpoint = await makeEndpoint(['activity.created'], 'first');
    const created = await http(
      `${API}/activities`,
      { method: 'POST', token: user.accessToken, body: { action: 'VIEW_COURSE', metadata: { course: 7 } } },
      logbook.baseUrl,
    );
    const sentAt = Date.now();
    await receiver.until(() => receiver.ofType('activity.created', 'first').length >= 1);
    const [delivery] = receiver.ofType('activity.created', 'first');
    expect(delivery.at - sentAt).toBeLessThan(2000);
    expect(verified(endpoint.secret, delivery)).toEqual(delivery.event);
    expect(delivery.event).toEqual({
      id: expect.stringMatching(/^evt_[0-9a-f]{32}$/),
      type: 'activity.created',
      timestamp: created.body.data.createdAt,
      data: created.body.data,
    });
    expect(delivery.headers['webhook-id']).toBe(delivery.event.id);
    expect(delivery.headers['content-type']).toBe('application/json');
    // A signature made with another secret does not pass the independent check.
    expect(() => verified('whsec_' + Buffer.alloc(32, 1).toString('base64'), delivery)).toThrow();

    await new Promise((resolve) => setTimeout(resolve, 200));
    const [attempt] = await deliveriesOf(endpoint.id);
    expect(attempt).toMatchObject({
      eventId: delivery.event.id,
      eventType: 'activity.created',
      attempt: 1,
      status: 'succeeded',
      responseStatus: 200,
      error: null,
      nextAttemptAt: null,
    });
  });

  it('sends status changes, deletion, restore and their audit entries to an endpoint that asks for everything', async () => {
    const endpoint = await makeEndpoint(['*'], 'all');
    const activity = (
      await http(
        `${API}/activities`,
        { method: 'POST', token: user.accessToken, body: { action: 'X' } },
        logbook.baseUrl,
      )
    ).body.data;
    const as = (method: string, path: string, body?: unknown) =>
      http(`${API}${path}`, { method, body, token: user.accessToken }, logbook.baseUrl);
    const updated = (await as('PATCH', `/activities/${activity.id}/status`, { status: 'IN_PROGRESS' })).body.data;
    const deleted = (await as('DELETE', `/activities/${activity.id}`)).body.data;
    const restored = (await as('POST', `/activities/${activity.id}/restore`)).body.data;
    const aboutIt = () =>
      receiver
        .ofType('audit.created', 'all')
        .map((item) => item.event.data)
        .filter((entry) => entry.entity_type === 'ActivityLog' && entry.entity_id === String(activity.id));
    await receiver.until(() => receiver.ofType('activity.restored', 'all').length === 1 && aboutIt().length === 3);
    expect(receiver.ofType('activity.updated', 'all').map((item) => item.event.data)).toEqual([updated]);
    expect(receiver.ofType('activity.deleted', 'all').map((item) => item.event.data)).toEqual([deleted]);
    expect(receiver.ofType('activity.restored', 'all').map((item) => item.event.data)).toEqual([restored]);
    // Delivered in parallel, so in any order; each entry once.
    const about = aboutIt().sort((a, b) => Number(a.id) - Number(b.id));
    expect(about.map((entry) => entry.action)).toEqual(['UPDATE', 'DELETE', 'RESTORE']);
    const one = await call('GET', `/audit-logs/${about[0].id}`);
    expect(about[0]).toEqual(one.body.data);
    for (const item of receiver.at('all')) verified(endpoint.secret, item);
    // The activity as created is what its event says, though it changed since.
    expect(receiver.ofType('activity.created', 'all').map((item) => item.event.data)).toEqual([activity]);
  });

  it('tries again on the schedule after a failure, with the same event id, and the attempt log says so', async () => {
    const endpoint = await makeEndpoint(['activity.created'], 'retry');
    let answered = 0;
    receiver.answer = (request) => (request.path.endsWith('/retry') && answered++ === 0 ? 500 : 200);
    await http(
      `${API}/activities`,
      { method: 'POST', token: user.accessToken, body: { action: 'RETRY' } },
      logbook.baseUrl,
    );
    await receiver.until(() => receiver.at('retry').length >= 2);
    const [first, second] = receiver.at('retry');
    expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(second.at - first.at).toBeGreaterThanOrEqual(900);
    verified(endpoint.secret, second);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const attempts = await deliveriesOf(endpoint.id);
    expect(attempts.map((row: any) => [row.attempt, row.status, row.responseStatus])).toEqual([
      [2, 'succeeded', 200],
      [1, 'failed', 500],
    ]);
    expect(attempts[1].error).toMatch(/500/);
    expect(new Date(attempts[1].nextAttemptAt).getTime()).toBeGreaterThan(new Date(attempts[1].createdAt).getTime());
    expect((await call('GET', `/webhooks/${endpoint.id}/deliveries?status=failed`)).body.data).toHaveLength(1);
  });

  it('gives up after the last step, disables an endpoint failing for WEBHOOK_DISABLE_AFTER (audited); a replay sends the event again with its first id', async () => {
    const endpoint = await makeEndpoint(['activity.created'], 'give-up');
    receiver.answer = () => 503;
    const since = new Date().toISOString();
    await http(
      `${API}/activities`,
      { method: 'POST', token: user.accessToken, body: { action: 'GIVE_UP' } },
      logbook.baseUrl,
    );
    await receiver.until(() => receiver.at('give-up').length >= 3, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(receiver.at('give-up')).toHaveLength(3);
    const attempts = await deliveriesOf(endpoint.id);
    expect(attempts.map((row: any) => [row.attempt, row.status, row.nextAttemptAt === null])).toEqual([
      [3, 'failed', true],
      [2, 'failed', false],
      [1, 'failed', false],
    ]);

    // Failing since the first attempt, 3 s before the last: past WEBHOOK_DISABLE_AFTER (2 s).
    expect((await call('GET', `/webhooks/${endpoint.id}`)).body.data.enabled).toBe(false);
    const [disabled] = await sql(
      `SELECT * FROM audit_logs WHERE entity_type = 'Webhook' AND entity_id = $1 ORDER BY id DESC LIMIT 1`,
      [String(endpoint.id)],
      logbook.databaseUrl,
    );
    expect(disabled).toMatchObject({ action: 'UPDATE', user_id: null, username: 'webhooks' });
    expect(disabled.new_values).toMatchObject({ enabled: false });
    expect((await call('POST', `/webhooks/${endpoint.id}/replay`, { since })).status).toBe(409);

    receiver.answer = () => 200;
    expect((await call('PATCH', `/webhooks/${endpoint.id}`, { enabled: true })).status).toBe(200);
    const replay = await call('POST', `/webhooks/${endpoint.id}/replay`, { since });
    expect([replay.status, replay.body.data]).toEqual([202, { events: 1 }]);
    await receiver.until(() => receiver.at('give-up').length >= 4);
    const sent = receiver.at('give-up');
    expect(sent[3].headers['webhook-id']).toBe(sent[0].headers['webhook-id']);
    verified(endpoint.secret, sent[3]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await deliveriesOf(endpoint.id))[0]).toMatchObject({ attempt: 4, status: 'succeeded' });
  });

  it('sends a test event to one endpoint, signed with both secrets for a day after a rotation', async () => {
    const endpoint = await makeEndpoint(['webhook.test'], 'test');
    await makeEndpoint(['*'], 'other');
    const rotated = (await call('POST', `/webhooks/${endpoint.id}/rotate-secret`)).body.data.secret;
    const test = await call('POST', `/webhooks/${endpoint.id}/test`);
    expect(test.status).toBe(202);
    await receiver.until(() => receiver.ofType('webhook.test').length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const tests = receiver.ofType('webhook.test');
    // For that endpoint only: the one that asks for everything gets none.
    expect(tests.map((item) => item.path)).toEqual([new URL(`${receiver.url}/test`).pathname]);
    expect(tests[0].event).toMatchObject({ id: test.body.data.eventId, data: { endpointId: endpoint.id } });
    expect(String(tests[0].headers['webhook-signature']).split(' ')).toHaveLength(2);
    verified(rotated, tests[0]);
    verified(endpoint.secret, tests[0]);
  });

  it('sends each signed checkpoint', async () => {
    await makeEndpoint(['ledger.checkpoint'], 'ledger');
    await http(
      `${API}/activities`,
      { method: 'POST', token: user.accessToken, body: { action: 'LEDGER' } },
      logbook.baseUrl,
    );
    await logbook.app.get(LedgerIntegrator).drain();
    await receiver.until(() => receiver.ofType('ledger.checkpoint', 'ledger').length >= 1);
    const [checkpoint] = receiver.ofType('ledger.checkpoint', 'ledger');
    const stored = await call('GET', `/ledger/checkpoint?treeSize=${checkpoint.event.data.treeSize}`);
    expect(checkpoint.event.data).toEqual(stored.body.data);
  });

  it('sends nothing to a disabled or deleted endpoint', async () => {
    const disabled = await makeEndpoint(['activity.created'], 'disabled');
    await call('PATCH', `/webhooks/${disabled.id}`, { enabled: false });
    expect((await call('POST', `/webhooks/${disabled.id}/test`)).status).toBe(409);
    await http(
      `${API}/activities`,
      { method: 'POST', token: user.accessToken, body: { action: 'QUIET' } },
      logbook.baseUrl,
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(receiver.at('disabled')).toEqual([]);
    expect(await deliveriesOf(disabled.id)).toEqual([]);
  });

  it('marks an attempt left pending as interrupted when its event is sent again', async () => {
    const endpoint = await makeEndpoint(['activity.created'], 'interrupted');
    const since = new Date().toISOString();
    await http(
      `${API}/activities`,
      { method: 'POST', token: user.accessToken, body: { action: 'CUT' } },
      logbook.baseUrl,
    );
    await receiver.until(() => receiver.at('interrupted').length === 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // As an instance that died after sending, before recording the answer, leaves it.
    await sql(
      `UPDATE webhook_deliveries SET status = 'pending', response_status = NULL, duration_ms = NULL WHERE endpoint_id = $1`,
      [endpoint.id],
      logbook.databaseUrl,
    );
    expect((await call('POST', `/webhooks/${endpoint.id}/replay`, { since })).body.data).toEqual({ events: 1 });
    await receiver.until(() => receiver.at('interrupted').length === 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const [second, first] = await deliveriesOf(endpoint.id);
    expect(first).toMatchObject({
      attempt: 1,
      status: 'failed',
      error: 'interrupted: Logbook stopped before recording an answer',
    });
    expect(second).toMatchObject({ attempt: 2, status: 'succeeded', eventId: first.eventId });
  });

  it('removes events and attempts older than WEBHOOK_EVENT_RETENTION, and a replay no longer reaches them', async () => {
    const endpoint = await makeEndpoint(['activity.created'], 'pruned');
    for (const action of ['OLD', 'NEW']) {
      await http(`${API}/activities`, { method: 'POST', token: user.accessToken, body: { action } }, logbook.baseUrl);
      // A millisecond apart at least, so that their ids' times differ.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await receiver.until(() => receiver.at('pruned').length === 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const [old] = receiver.ofType('activity.created', 'pruned').filter((item) => item.event.data.action === 'OLD');
    const [young] = receiver.ofType('activity.created', 'pruned').filter((item) => item.event.data.action === 'NEW');
    // Event ids begin with their time: the later event's sorts after.
    expect(old.event.id < young.event.id).toBe(true);
    // Written 31 days ago, beyond the default 30.
    await sql(
      `UPDATE webhook_events SET created_at = now() - interval '31 days' WHERE event_id = $1`,
      [old.event.id],
      logbook.databaseUrl,
    );
    await sql(
      `UPDATE webhook_deliveries SET created_at = now() - interval '31 days'
        WHERE event_id = (SELECT id FROM webhook_events WHERE event_id = $1)`,
      [old.event.id],
      logbook.databaseUrl,
    );
    expect(await logbook.app.get(WebhookDeliveryService).prune()).toEqual({ events: 1, attempts: 1 });
    expect(await sql(`SELECT 1 FROM webhook_events WHERE event_id = $1`, [old.event.id], logbook.databaseUrl)).toEqual(
      [],
    );
    const kept = await deliveriesOf(endpoint.id);
    expect(kept.map((row: { eventId: string }) => row.eventId)).toEqual([
      receiver.ofType('activity.created', 'pruned').find((item) => item.event.data.action === 'NEW')!.event.id,
    ]);
    // A replay reaching back 40 days sends what is kept of the type, which no longer has the old event.
    const [{ count }] = await sql(
      `SELECT count(*)::int AS count FROM webhook_events WHERE type = 'activity.created'`,
      [],
      logbook.databaseUrl,
    );
    const since = new Date(Date.now() - 40 * 86_400_000).toISOString();
    expect((await call('POST', `/webhooks/${endpoint.id}/replay`, { since })).body.data).toEqual({ events: count });
    // Nothing older remains: a second run removes nothing.
    expect(await logbook.app.get(WebhookDeliveryService).prune()).toEqual({ events: 0, attempts: 0 });
  });
});
