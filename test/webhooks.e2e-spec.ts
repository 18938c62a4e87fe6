import { startTestApp, TestApp } from './helpers/app';
import { auditEntriesFor, createAdmin, createUser, sql, TestUser } from './helpers/factories';
import { http } from './helpers/http';

const API = '/api/v1';
const PUBLIC_URL = 'https://93.184.216.34/hooks/logbook';

/** Endpoints as a deployment runs them: private addresses refused (the tests' default allows them). */
describe('webhook endpoints', () => {
  let logbook: TestApp;
  let admin: TestUser;
  const call = (method: string, path: string, body?: unknown, token = admin.accessToken) =>
    http(`${API}${path}`, { method, body, token }, logbook.baseUrl);
  const count = async () => Number((await sql('SELECT count(*) AS n FROM webhook_endpoints'))[0].n);

  beforeAll(async () => {
    logbook = await startTestApp({ LOG_LEVEL: 'silent', WEBHOOK_ALLOW_PRIVATE: 'false' });
    admin = await createAdmin(logbook.baseUrl);
  });
  afterAll(async () => {
    // Endpoints made here must not receive the rest of the suite's events.
    for (const { id } of (await call('GET', '/webhooks?limit=100')).body.data) await call('DELETE', `/webhooks/${id}`);
    await logbook?.close();
  });

  it('are made by an ADMIN, show their secret once, keep it sealed, and audit them without it', async () => {
    const created = await call('POST', '/webhooks', {
      url: ` ${PUBLIC_URL} `,
      events: ['webhook.test', 'ledger.checkpoint'],
      description: 'SIEM',
    });
    expect(created.status).toBe(201);
    const endpoint = created.body.data;
    expect(endpoint).toEqual({
      id: expect.any(Number),
      url: PUBLIC_URL,
      events: ['webhook.test', 'ledger.checkpoint'],
      description: 'SIEM',
      enabled: true,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    const secretKey = endpoint.secret.slice('whsec_'.length);
    const [row] = await sql('SELECT * FROM webhook_endpoints WHERE id = $1', [endpoint.id]);
    expect(JSON.stringify(row)).not.toContain(secretKey);

    const read = await call('GET', `/webhooks/${endpoint.id}`);
    expect(read.body.data).toEqual({ ...endpoint, secret: undefined });
    expect(read.text).not.toContain(secretKey);
    const listed = await call('GET', '/webhooks');
    expect(listed.body.data).toContainEqual({ ...endpoint, secret: undefined });

    const [entry] = await auditEntriesFor('Webhook', endpoint.id);
    expect(entry).toMatchObject({ action: 'CREATE', user_id: String(admin.id) });
    expect(JSON.stringify(entry)).not.toContain(secretKey);
  });

  it.each([
    'http://127.0.0.1/hook',
    'http://localhost:8080/hook',
    'http://10.0.0.5/hook',
    'http://192.168.1.20/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://[::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://[fe80::1]/hook',
    'https://no-such-host.invalid/hook',
  ])('refuse %s (400, nothing stored)', async (url) => {
    const before = await count();
    const res = await call('POST', '/webhooks', { url, events: ['*'] });
    expect([res.status, res.body.error?.details?.[0]?.field]).toEqual([400, 'url']);
    expect(await count()).toBe(before);
  });

  it.each([
    [{ url: 'ftp://93.184.216.34/x', events: ['*'] }, 'url'],
    [{ url: 'https://user:pass@93.184.216.34/x', events: ['*'] }, 'url'],
    [{ url: PUBLIC_URL, events: [] }, 'events'],
    [{ url: PUBLIC_URL, events: ['activity.created', 'activity.created'] }, 'events'],
    [{ url: PUBLIC_URL, events: ['user.created'] }, 'events'],
    [{ url: PUBLIC_URL, events: ['*'], description: 'x'.repeat(501) }, 'description'],
  ])('refuse a bad body %j (400 on %s)', async (body, field) => {
    const before = await count();
    const res = await call('POST', '/webhooks', body);
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((detail: { field: string }) => detail.field)).toContain(field);
    expect(await count()).toBe(before);
  });

  it('change as asked (audited), the same values again change nothing, and a private address is refused', async () => {
    const { id } = (await call('POST', '/webhooks', { url: PUBLIC_URL, events: ['webhook.test'] })).body.data;
    const changed = await call('PATCH', `/webhooks/${id}`, { events: ['*'], enabled: false });
    expect(changed.body.data).toMatchObject({ events: ['*'], enabled: false, description: null });
    const entries = await auditEntriesFor('Webhook', id);
    expect(entries.at(-1)).toMatchObject({
      action: 'UPDATE',
      old_values: { events: ['webhook.test'], enabled: true },
      new_values: { events: ['*'], enabled: false },
    });
    expect((await call('PATCH', `/webhooks/${id}`, { events: ['*'], enabled: false })).status).toBe(200);
    expect(await auditEntriesFor('Webhook', id)).toHaveLength(entries.length);
    const inward = await call('PATCH', `/webhooks/${id}`, { url: 'http://127.0.0.1:9000/x' });
    expect(inward.status).toBe(400);
    expect((await call('GET', `/webhooks/${id}`)).body.data.url).toBe(PUBLIC_URL);
  });

  it('rotate their secret: a new one, shown once, the old one kept for 24 hours, audited as redacted', async () => {
    const created = (await call('POST', '/webhooks', { url: PUBLIC_URL, events: ['webhook.test'] })).body.data;
    const [before] = await sql('SELECT secret_sealed FROM webhook_endpoints WHERE id = $1', [created.id]);
    const rotated = await call('POST', `/webhooks/${created.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.data).toEqual({ secret: expect.stringMatching(/^whsec_/) });
    expect(rotated.body.data.secret).not.toBe(created.secret);
    const [after] = await sql(
      'SELECT secret_sealed, previous_secret_sealed, previous_secret_until FROM webhook_endpoints WHERE id = $1',
      [created.id],
    );
    expect(after.previous_secret_sealed).toBe(before.secret_sealed);
    const hours = (new Date(after.previous_secret_until).getTime() - Date.now()) / 3600_000;
    expect(hours).toBeGreaterThan(23.9);
    expect(hours).toBeLessThanOrEqual(24);
    const entry = (await auditEntriesFor('Webhook', created.id)).at(-1);
    expect(entry).toMatchObject({ action: 'UPDATE', new_values: { secret: '[REDACTED]' } });
    expect(JSON.stringify(entry)).not.toContain(rotated.body.data.secret.slice(6));
  });

  it('are deleted (audited): gone from reads, 404 after', async () => {
    const { id } = (await call('POST', '/webhooks', { url: PUBLIC_URL, events: ['webhook.test'] })).body.data;
    const deleted = await call('DELETE', `/webhooks/${id}`);
    expect(deleted.status).toBe(200);
    expect((await call('GET', `/webhooks/${id}`)).status).toBe(404);
    expect((await call('PATCH', `/webhooks/${id}`, { enabled: true })).status).toBe(404);
    expect((await call('POST', `/webhooks/${id}/rotate-secret`)).status).toBe(404);
    expect((await call('GET', '/webhooks?limit=100')).body.data.map((item: { id: number }) => item.id)).not.toContain(
      id,
    );
    expect((await auditEntriesFor('Webhook', id)).at(-1)).toMatchObject({ action: 'DELETE' });
  });

  it('are an ADMIN’s only: 403 for anyone else and for any API key, changing nothing', async () => {
    const user = await createUser({}, logbook.baseUrl);
    const key = await call('POST', '/api-keys', { name: 'admin key', scopes: ['activities:read', 'audit:read'] });
    const before = await count();
    const credentials: Record<string, string>[] = [
      { authorization: `Bearer ${user.accessToken}` },
      { 'x-api-key': key.body.data.key },
    ];
    for (const headers of credentials) {
      const res = await http(
        `${API}/webhooks`,
        { method: 'POST', headers, body: { url: PUBLIC_URL, events: ['*'] } },
        logbook.baseUrl,
      );
      expect(res.status).toBe(403);
    }
    expect(await count()).toBe(before);
  });
});
