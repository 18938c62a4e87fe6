import { createHash } from 'node:crypto';
import { createActivity } from './helpers/activities';
import { auditEntriesFor, createAdmin, createUser, sql, TestUser } from './helpers/factories';
import { http } from './helpers/http';

const API = '/api/v1';

/** Creates a key through the API as `owner` and answers the 201's data (the only time `key` is shown). */
async function makeKey(owner: TestUser, body: Record<string, unknown>): Promise<any> {
  const res = await http(`${API}/api-keys`, { method: 'POST', token: owner.accessToken, body });
  expect(res.status).toBe(201);
  return res.body.data;
}

/** A request signed in with a key, sent as X-API-Key (or as a bearer token). */
const withKey = (key: string, path: string, options: { method?: string; body?: unknown; bearer?: boolean } = {}) =>
  http(`${API}${path}`, {
    method: options.method,
    body: options.body,
    headers: options.bearer ? { authorization: `Bearer ${key}` } : { 'x-api-key': key },
  });

/** Polls a condition that an instance reaches a moment after a request (a use noted off the request's path). */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    value = await read();
  }
  return value;
}

describe('API keys', () => {
  let admin: TestUser;
  let user: TestUser;

  beforeAll(async () => {
    admin = await createAdmin();
    user = await createUser();
  });

  it('are shown once, stored only as a hash, and audited without the key', async () => {
    const created = await makeKey(user, { name: ' billing service ', scopes: ['activities:write'] });
    expect(created).toEqual({
      id: expect.any(Number),
      name: 'billing service',
      scopes: ['activities:write'],
      userId: user.id,
      prefix: created.key.slice(0, 12),
      createdAt: expect.any(String),
      expiresAt: null,
      lastUsedAt: null,
      key: expect.stringMatching(/^lbk_[A-Za-z0-9_-]{43}$/),
    });
    const [row] = await sql('SELECT * FROM api_keys WHERE id = $1', [created.id]);
    expect(row.key_hash).toBe(createHash('sha256').update(created.key).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(created.key);

    const listed = await http(`${API}/api-keys`, { token: user.accessToken });
    expect(listed.status).toBe(200);
    expect(listed.body.data).toContainEqual({ ...created, key: undefined });
    expect(listed.text).not.toContain(created.key);
    const one = await http(`${API}/api-keys/${created.id}`, { token: user.accessToken });
    expect(one.body.data).not.toHaveProperty('key');

    const [entry] = await auditEntriesFor('ApiKey', created.id);
    expect(entry).toMatchObject({ action: 'CREATE', user_id: String(user.id), api_key_id: null });
    const audited = JSON.stringify(entry);
    expect(audited).not.toContain(created.key);
    expect(audited).not.toContain(row.key_hash);
  });

  it('record activities as their user, as X-API-Key or as a bearer token, and every audit entry names the key', async () => {
    const { key, id } = await makeKey(user, { name: 'writer', scopes: ['activities:write', 'activities:read'] });
    const first = await withKey(key, '/activities', { method: 'POST', body: { action: 'CRON_RUN' } });
    expect(first.status).toBe(201);
    expect(first.body.data.user).toBe(user.id);
    const second = await withKey(key, '/activities', { method: 'POST', body: { action: 'CRON_RUN' }, bearer: true });
    expect(second.status).toBe(201);

    const changed = await withKey(key, `/activities/${first.body.data.id}/status`, {
      method: 'PATCH',
      body: { status: 'DONE' },
    });
    expect(changed.status).toBe(200);
    const [entry] = await auditEntriesFor('ActivityLog', first.body.data.id);
    expect(entry).toMatchObject({ action: 'UPDATE', user_id: String(user.id), api_key_id: String(id) });
    const read = await http(`${API}/audit-logs/${entry.id}`, { token: admin.accessToken });
    expect(read.body.data.api_key_id).toBe(id);
    // The entry's hash covers the key: the chain still verifies.
    expect((await http(`${API}/audit-logs/verify`, { token: admin.accessToken })).body.data.valid).toBe(true);
  });

  it('reach only the routes of their scopes, and never sign in, manage keys, users or passwords', async () => {
    const reader = (await makeKey(user, { name: 'reader', scopes: ['activities:read'] })).key;
    expect((await withKey(reader, '/activities')).status).toBe(200);
    const refused = await withKey(reader, '/activities', { method: 'POST', body: { action: 'X' } });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ success: false, error: { code: 'HTTP_403' } });

    const writer = (await makeKey(user, { name: 'writer only', scopes: ['activities:write'] })).key;
    expect((await withKey(writer, '/activities')).status).toBe(403);

    for (const [method, path, body] of [
      ['POST', '/api-keys', { name: 'another', scopes: ['activities:read'] }],
      ['GET', '/api-keys', undefined],
      ['GET', '/auth/me', undefined],
      ['POST', '/auth/logout', undefined],
      ['POST', '/auth/change-password', { currentPassword: user.password, newPassword: 'another long password' }],
      ['GET', `/users/${user.id}`, undefined],
    ] as const) {
      const res = await withKey(reader, path, { method, body });
      expect([method, path, res.status]).toEqual([method, path, 403]);
    }
    const [{ count }] = await sql('SELECT count(*)::int AS count FROM api_keys WHERE name = $1', ['another']);
    expect(count).toBe(0);
  });

  it('give audit:read to an ADMIN’s key only, and follow their user’s role as it is now', async () => {
    const refused = await http(`${API}/api-keys`, {
      method: 'POST',
      token: user.accessToken,
      body: { name: 'auditor', scopes: ['audit:read'] },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toContainEqual(expect.objectContaining({ field: 'scopes' }));

    const other = await createAdmin();
    const auditor = (await makeKey(other, { name: 'auditor', scopes: ['audit:read'] })).key;
    expect((await withKey(auditor, '/audit-logs')).status).toBe(200);
    expect((await withKey(auditor, '/ledger/verify')).status).toBe(200);
    expect((await withKey(auditor, '/activities')).status).toBe(403);
    // Demoted: the key is a PARTICIPANT's now, and the audit trail is an ADMIN's.
    const demoted = await http(`${API}/users/${other.id}`, {
      method: 'PATCH',
      token: admin.accessToken,
      body: { role: 'PARTICIPANT' },
    });
    expect(demoted.status).toBe(200);
    expect((await withKey(auditor, '/audit-logs')).status).toBe(403);
  });

  it('are made for another user by an ADMIN only', async () => {
    const forUser = await makeKey(admin, { name: 'for a user', scopes: ['activities:read'], userId: user.id });
    expect(forUser.userId).toBe(user.id);
    const stranger = await createUser();
    const refused = await http(`${API}/api-keys`, {
      method: 'POST',
      token: stranger.accessToken,
      body: { name: 'not mine', scopes: ['activities:read'], userId: user.id },
    });
    expect(refused.status).toBe(403);
    const unknown = await http(`${API}/api-keys`, {
      method: 'POST',
      token: admin.accessToken,
      body: { name: 'nobody', scopes: ['activities:read'], userId: 987654321 },
    });
    expect(unknown.status).toBe(404);
    // Another user's key is not the stranger's to see, list or revoke.
    expect((await http(`${API}/api-keys/${forUser.id}`, { token: stranger.accessToken })).status).toBe(404);
    expect((await http(`${API}/api-keys?userId=${user.id}`, { token: stranger.accessToken })).status).toBe(403);
    const revoke = await http(`${API}/api-keys/${forUser.id}`, { method: 'DELETE', token: stranger.accessToken });
    expect(revoke.status).toBe(404);
    expect((await withKey(forUser.key, '/activities')).status).toBe(200);
    const everyone = await http(`${API}/api-keys?userId=${user.id}&limit=100`, { token: admin.accessToken });
    expect(everyone.body.data.map((key: any) => key.id)).toContain(forUser.id);
  });

  it('refuse bad input with 400 and store nothing', async () => {
    const before = await sql('SELECT count(*)::int AS count FROM api_keys');
    for (const body of [
      {},
      { name: '', scopes: ['activities:read'] },
      { name: 'x'.repeat(101), scopes: ['activities:read'] },
      { name: 'x', scopes: [] },
      { name: 'x', scopes: ['activities:delete'] },
      { name: 'x', scopes: ['activities:read', 'activities:read'] },
      { name: 'x', scopes: 'activities:read' },
      { name: 'x', scopes: ['activities:read'], expiresAt: '2001-01-01T00:00:00Z' },
      { name: 'x', scopes: ['activities:read'], expiresAt: '2099-01-01T00:00:00' },
      { name: 'x', scopes: ['activities:read'], expiresAt: 'tomorrow' },
      { name: 'x', scopes: ['activities:read'], userId: 0 },
    ]) {
      const res = await http(`${API}/api-keys`, { method: 'POST', token: user.accessToken, body });
      expect([JSON.stringify(body), res.status]).toEqual([JSON.stringify(body), 400]);
    }
    expect(await sql('SELECT count(*)::int AS count FROM api_keys')).toEqual(before);
  });

  it('stop at their expiry, at once when revoked, and with their user’s deletion', async () => {
    const soon = new Date(Date.now() + 1500).toISOString();
    const expiring = await makeKey(user, { name: 'short', scopes: ['activities:read'], expiresAt: soon });
    expect(expiring.expiresAt).toBe(soon);
    expect((await withKey(expiring.key, '/activities')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const expired = await withKey(expiring.key, '/activities');
    expect(expired.status).toBe(401);
    expect(expired.body).toMatchObject({ success: false, error: { code: 'HTTP_401' } });

    const revoked = await makeKey(user, { name: 'revoked', scopes: ['activities:read'] });
    expect((await withKey(revoked.key, '/activities')).status).toBe(200);
    const deleted = await http(`${API}/api-keys/${revoked.id}`, { method: 'DELETE', token: user.accessToken });
    expect(deleted.status).toBe(200);
    expect((await withKey(revoked.key, '/activities')).status).toBe(401);
    expect((await http(`${API}/api-keys/${revoked.id}`, { token: user.accessToken })).status).toBe(404);
    expect((await http(`${API}/api-keys/${revoked.id}`, { method: 'DELETE', token: user.accessToken })).status).toBe(
      404,
    );
    const entries = await auditEntriesFor('ApiKey', revoked.id);
    expect(entries.map((entry) => entry.action)).toEqual(['CREATE', 'DELETE']);

    const doomed = await createUser();
    const orphan = await makeKey(doomed, { name: 'orphan', scopes: ['activities:read'] });
    expect((await withKey(orphan.key, '/activities')).status).toBe(200);
    expect((await http(`${API}/users/${doomed.id}`, { method: 'DELETE', token: admin.accessToken })).status).toBe(200);
    expect((await withKey(orphan.key, '/activities')).status).toBe(401);

    for (const text of ['lbk_not-a-key', `lbk_${'A'.repeat(43)}`, '', 'x'.repeat(5000)]) {
      expect((await withKey(text, '/activities')).status).toBe(401);
    }
  });

  it('note their last use at most once a minute', async () => {
    const { key, id } = await makeKey(user, { name: 'used', scopes: ['activities:read'] });
    expect((await withKey(key, '/activities')).status).toBe(200);
    const read = async () => (await http(`${API}/api-keys/${id}`, { token: user.accessToken })).body.data.lastUsedAt;
    const first = await eventually(read, (value) => value !== null);
    expect(first).not.toBeNull();
    expect((await withKey(key, '/activities')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await read()).toBe(first);
  });

  it('read what one of a service’s own users did: actorId and actorEmail filter lists and export', async () => {
    const service = await createUser();
    const { key } = await makeKey(service, { name: 'service', scopes: ['activities:write', 'activities:read'] });
    const actor = (userId: string, email: string) => ({ userId, name: 'Somebody', email, role: 'PARTICIPANT' });
    for (const [userId, email] of [
      ['svc-1', 'Ann@Example.com'],
      ['svc-1', 'ann@example.com'],
      ['svc-2', 'bob@example.com'],
    ]) {
      const res = await withKey(key, '/activities', {
        method: 'POST',
        body: { action: 'VIEW_COURSE', actor: actor(userId, email) },
      });
      expect(res.status).toBe(201);
    }
    const byId = await withKey(key, '/activities?actorId=svc-1');
    expect(byId.body.data.map((activity: any) => activity.actor.userId)).toEqual(['svc-1', 'svc-1']);
    const byEmail = await withKey(key, '/activities?actorEmail=ANN@example.COM');
    expect(byEmail.body.data).toHaveLength(2);
    expect((await withKey(key, '/activities?actorId=svc')).body.data).toHaveLength(0);
    const exported = await withKey(key, '/activities/export?format=ndjson&actorEmail=bob@example.com');
    expect(exported.status).toBe(200);
    expect(exported.text.trim().split('\n')).toHaveLength(1);
    await createActivity(service, { action: 'OWN' });
    expect((await withKey(key, '/activities?actorId=svc-2')).body.data).toHaveLength(1);
  });
});
