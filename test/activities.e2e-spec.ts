import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createActivity, listActivities, setStatus } from './helpers/activities';
import { startTestApp } from './helpers/app';
import { auditEntriesFor, createAdmin, createUser, sql, TestUser } from './helpers/factories';
import { http } from './helpers/http';
import { OpenApiResponseValidator } from './helpers/openapi-validator';

const spec = new OpenApiResponseValidator(JSON.parse(readFileSync(join(__dirname, '..', 'openapi.json'), 'utf8')));
const countOf = async (userId: number) =>
  (await sql('SELECT count(*)::int AS n FROM activities WHERE user_id = $1', [userId]))[0].n as number;
const post = (user: TestUser, body: unknown, headers: Record<string, string> = {}, path = '/api/v1/activities') =>
  http(path, { method: 'POST', token: user.accessToken, body, headers });

describe('POST /activities', () => {
  let user: TestUser;

  beforeAll(async () => {
    user = await createUser({ name: 'John Doe' });
  });

  it('records an activity with defaults: actor from the user, empty metadata, no target or context', async () => {
    const res = await post(user, { action: '  LOGIN  ' }, { 'user-agent': 'Mozilla/5.0 test' });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/api/v1/activities/${res.body.data.id}`);
    expect(res.body).toEqual({
      success: true,
      message: 'Success',
      data: {
        id: expect.any(Number),
        user: user.id,
        action: 'LOGIN',
        status: 'PENDING',
        metadata: {},
        actor: { userId: String(user.id), name: 'John Doe', email: user.email, role: 'PARTICIPANT' },
        target: null,
        context: null,
        ipAddress: '127.0.0.1',
        userAgent: 'Mozilla/5.0 test',
        timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      },
    });
    expect(spec.problems('POST', '/api/v1/activities', 201, res.body)).toEqual([]);
  });

  it('stores the full example of docs/API.md as given; omitted inner fields read null, additionalInfo {}', async () => {
    const res = await post(user, {
      action: 'DOWNLOAD_FILE',
      actor: { name: 'System Administrator', email: 'admin@example.com', role: 'ADMIN' },
      target: { type: 'FILE', id: '68ba5cdc809c41ef914ad23d', name: 'Course Material.pdf' },
      context: { description: 'Downloaded course material', source: 'WEB_APP' },
      metadata: { fileSize: '2.5MB', downloadTime: '3.2s', nested: { deep: [1, 2] } },
      status: 'IN_PROGRESS',
      timestamp: '2025-06-15T10:05:00.123Z',
    });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({
      user: user.id,
      status: 'IN_PROGRESS',
      actor: { userId: null, name: 'System Administrator', email: 'admin@example.com', role: 'ADMIN' },
      target: { type: 'FILE', id: '68ba5cdc809c41ef914ad23d', model: null, name: 'Course Material.pdf' },
      context: { description: 'Downloaded course material', source: 'WEB_APP', additionalInfo: {} },
      metadata: { fileSize: '2.5MB', downloadTime: '3.2s', nested: { deep: [1, 2] } },
      timestamp: '2025-06-15T10:05:00.123Z',
    });
    const read = await http(`/api/v1/activities/${res.body.data.id}`, { token: user.accessToken });
    expect(read.body.data).toEqual(res.body.data);
  });

  it.each([
    [{}, 'action'],
    [{ action: '   ' }, 'action'],
    [{ action: 'x'.repeat(101) }, 'action'],
    [{ action: 5 }, 'action'],
    [{ action: 'A', status: 'COMPLETED_ISH' }, 'status'],
    [{ action: 'A', metadata: [1, 2] }, 'metadata'],
    [{ action: 'A', metadata: 'text' }, 'metadata'],
    [{ action: 'A', metadata: { blob: 'x'.repeat(16 * 1024) } }, 'metadata'],
    [{ action: 'A', actor: { name: 'No Email' } }, 'actor.email'],
    [{ action: 'A', actor: { email: 'a@example.com' } }, 'actor.name'],
    [{ action: 'A', actor: { name: 'A', email: 'not-an-email' } }, 'actor.email'],
    [{ action: 'A', actor: { name: 'A', email: `${'x'.repeat(95)}@example.com` } }, 'actor.email'],
    [{ action: 'A', actor: { name: 'A', email: 'a@example.com', role: 'GOD' } }, 'actor.role'],
    [{ action: 'A', target: { id: '1' } }, 'target.type'],
    [{ action: 'A', target: { type: 'PLANET' } }, 'target.type'],
    [{ action: 'A', target: { type: 'FILE', model: 'Planet' } }, 'target.model'],
    [{ action: 'A', target: { type: 'FILE', name: 'x'.repeat(201) } }, 'target.name'],
    [{ action: 'A', target: { type: 'FILE', id: 'x'.repeat(101) } }, 'target.id'],
    [{ action: 'A', context: { description: 'x'.repeat(501) } }, 'context.description'],
    [{ action: 'A', context: { source: 'x'.repeat(101) } }, 'context.source'],
    [{ action: 'A', context: { additionalInfo: [1] } }, 'context.additionalInfo'],
    [{ action: 'A', timestamp: new Date(Date.now() + 10 * 60_000).toISOString() }, 'timestamp'],
    [{ action: 'A', timestamp: '15.06.2025 10:05' }, 'timestamp'],
    [{ action: 'A', user: 99 }, 'user'],
    [{ action: 'A', id: 1 }, 'id'],
    [{ action: 'A', createdAt: '2025-01-01T00:00:00Z' }, 'createdAt'],
    [{ action: 'A', target: { type: 'FILE', extra: 1 } }, 'target.extra'],
  ])('refuses %j with 400 naming %s, storing nothing', async (body, field) => {
    const before = await countOf(user.id);
    const res = await post(user, body);
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((detail: { field: string }) => detail.field)).toContain(field);
    expect(spec.problems('POST', '/api/v1/activities', 400, res.body)).toEqual([]);
    expect(await countOf(user.id)).toBe(before);
  });

  it('takes limits in characters and metadata by its UTF-8 JSON bytes', async () => {
    expect((await post(user, { action: '🚀'.repeat(100) })).status).toBe(201);
    const exact = { blob: 'x'.repeat(16 * 1024 - '{"blob":""}'.length) };
    expect(Buffer.byteLength(JSON.stringify(exact))).toBe(16 * 1024);
    expect((await post(user, { action: 'A', metadata: exact })).status).toBe(201);
    const multiByte = { blob: 'é'.repeat(8200) };
    expect((await post(user, { action: 'A', metadata: multiByte })).status).toBe(400);
  });

  it('counts every code point, variation selectors too (never stores past a column, never a 500)', async () => {
    const before = await countOf(user.id);
    // validator.js's length leaves U+FE0F out; the column counts it.
    const res = await post(user, { action: `A${'\uFE0F'.repeat(100)}` });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([
      { field: 'action', message: 'action must be shorter than or equal to 100 characters' },
    ]);
    const actor = await post(user, { action: 'A', actor: { name: `N${'\uFE0E'.repeat(100)}`, email: 'a@b.co' } });
    expect(actor.status).toBe(400);
    expect(actor.body.error.details.map((detail: { field: string }) => detail.field)).toEqual(['actor.name']);
    expect(await countOf(user.id)).toBe(before);
  });

  it.each(['toString', 'constructor', 'hasOwnProperty', 'valueOf'])(
    'refuses a field named %s like any unknown field',
    async (name) => {
      const before = await countOf(user.id);
      const res = await http('/api/v1/activities', {
        method: 'POST',
        token: user.accessToken,
        body: `{"action":"A","${name}":"x"}`,
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((detail: { field: string }) => detail.field)).toEqual([name]);
      expect(await countOf(user.id)).toBe(before);
    },
  );

  it('keeps free-form JSON exactly as sent, keys named like Object.prototype members included', async () => {
    const metadata = JSON.parse(
      '{"constructor":2,"toString":"t","nested":{"valueOf":[1,{"hasOwnProperty":null}]}}',
    ) as Record<string, unknown>;
    // (`__proto__`, and `constructor` holding `prototype`, are refused by the JSON parser itself: 400.)
    const additionalInfo = JSON.parse('{"constructor":{"name":"x"},"isPrototypeOf":true}') as Record<string, unknown>;
    const body = JSON.stringify({ action: 'A', metadata, context: { additionalInfo } });
    const created = await post(user, body, { 'content-type': 'application/json' });
    expect(created.status).toBe(201);
    const read = await http(`/api/v1/activities/${created.body.data.id}`, { token: user.accessToken });
    for (const res of [created, read]) {
      expect(JSON.parse(JSON.stringify(res.body.data.metadata))).toEqual(metadata);
      expect(Object.keys(res.body.data.metadata).sort()).toEqual(['constructor', 'nested', 'toString']);
      expect(res.body.data.context.additionalInfo).toEqual(additionalInfo);
    }
    const batch = await post(
      user,
      `{"items":[{"action":"B","metadata":${JSON.stringify(metadata)}}]}`,
      {
        'content-type': 'application/json',
      },
      '/api/v1/activities/batch',
    );
    expect(batch.status).toBe(201);
    expect(Object.keys(batch.body.data[0].metadata).sort()).toEqual(['constructor', 'nested', 'toString']);
  });

  it('accepts a timestamp up to five minutes ahead, kept to the millisecond', async () => {
    const soon = new Date(Date.now() + 4 * 60_000);
    const res = await post(user, { action: 'A', timestamp: soon.toISOString() });
    expect(res.status).toBe(201);
    expect(res.body.data.timestamp).toBe(soon.toISOString());
  });

  it('needs a token', async () => {
    expect((await http('/api/v1/activities', { method: 'POST', body: { action: 'A' } })).status).toBe(401);
  });
});

describe('Idempotency-Key', () => {
  it('replays the first answer for the same key and body, storing nothing new', async () => {
    const user = await createUser();
    const first = await post(user, { action: 'PAY', metadata: { amount: 5 } }, { 'idempotency-key': 'pay-1' });
    const again = await post(user, { action: 'PAY', metadata: { amount: 5 } }, { 'idempotency-key': 'pay-1' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    expect(await countOf(user.id)).toBe(1);
  });

  it('answers the same key with another body with 409, and keeps keys per user', async () => {
    const user = await createUser();
    const other = await createUser();
    await post(user, { action: 'PAY' }, { 'idempotency-key': 'k' });
    const conflict = await post(user, { action: 'REFUND' }, { 'idempotency-key': 'k' });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('HTTP_409');
    expect((await post(other, { action: 'PAY' }, { 'idempotency-key': 'k' })).status).toBe(201);
    expect(await countOf(user.id)).toBe(1);
    expect(await countOf(other.id)).toBe(1);
  });

  it('stores one activity for concurrent requests with one key', async () => {
    const user = await createUser();
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => post(user, { action: 'RACE' }, { 'idempotency-key': 'race' })),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(8).fill(201));
    expect(new Set(answers.map((answer) => answer.body.data.id)).size).toBe(1);
    expect(await countOf(user.id)).toBe(1);
  });

  it('forgets a key after 24 hours: then it records anew', async () => {
    const user = await createUser();
    const first = await post(user, { action: 'PAY' }, { 'idempotency-key': 'daily' });
    await sql(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE user_id = $1`, [user.id]);
    const later = await post(user, { action: 'PAY' }, { 'idempotency-key': 'daily' });
    expect(later.status).toBe(201);
    expect(later.body.data.id).not.toBe(first.body.data.id);
    expect(await countOf(user.id)).toBe(2);
    const replay = await post(user, { action: 'PAY' }, { 'idempotency-key': 'daily' });
    expect(replay.body.data.id).toBe(later.body.data.id);
  });

  it('refuses a key longer than 255 characters', async () => {
    const user = await createUser();
    expect((await post(user, { action: 'A' }, { 'idempotency-key': 'k'.repeat(256) })).status).toBe(400);
    expect((await post(user, { action: 'A' }, { 'idempotency-key': 'k'.repeat(255) })).status).toBe(201);
  });

  it('names the key in its refusal, and reports a bad body before a bad key', async () => {
    const user = await createUser();
    const tooLong = await post(user, { action: 'A' }, { 'idempotency-key': 'k'.repeat(256) });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.details).toEqual([
      { field: 'Idempotency-Key', message: 'Idempotency-Key must be 1 to 255 characters' },
    ]);
    const both = await post(user, { items: [] }, { 'idempotency-key': 'k'.repeat(256) }, '/api/v1/activities/batch');
    expect(both.status).toBe(400);
    expect(both.body.error.details).toEqual([{ field: 'items', message: 'items must contain at least 1 elements' }]);
  });
});

describe('POST /activities/batch', () => {
  it('stores all items in one go and answers them in order', async () => {
    const user = await createUser();
    const items = ['FIRST', 'SECOND', 'THIRD'].map((action, index) => ({ action, metadata: { index } }));
    const res = await post(user, { items }, {}, '/api/v1/activities/batch');
    expect(res.status).toBe(201);
    expect(res.body.data.map((activity: { action: string }) => activity.action)).toEqual(['FIRST', 'SECOND', 'THIRD']);
    expect(spec.problems('POST', '/api/v1/activities/batch', 201, res.body)).toEqual([]);
    expect(await countOf(user.id)).toBe(3);
  });

  it('fails the whole batch on one bad item, naming items[i].field, storing nothing', async () => {
    const user = await createUser();
    const res = await post(
      user,
      { items: [{ action: 'OK' }, { action: '' }, { action: 'OK', target: { type: 'X' } }] },
      {},
      '/api/v1/activities/batch',
    );
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((detail: { field: string }) => detail.field)).toEqual(
      expect.arrayContaining(['items[1].action', 'items[2].target.type']),
    );
    expect(await countOf(user.id)).toBe(0);
  });

  it('refuses items that are not objects with 400, never a 500', async () => {
    const user = await createUser();
    for (const items of [[[{ action: 'A' }]], ['A'], [null], [1]]) {
      const res = await post(user, { items }, {}, '/api/v1/activities/batch');
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((detail: { field: string }) => detail.field)).toContain('items');
    }
    expect(await countOf(user.id)).toBe(0);
  });

  it('takes 1 to 1000 items', async () => {
    const user = await createUser();
    expect((await post(user, { items: [] }, {}, '/api/v1/activities/batch')).status).toBe(400);
    const many = Array.from({ length: 1001 }, () => ({ action: 'A' }));
    expect((await post(user, { items: many }, {}, '/api/v1/activities/batch')).status).toBe(400);
    expect((await post(user, { items: many.slice(1) }, {}, '/api/v1/activities/batch')).status).toBe(201);
    expect(await countOf(user.id)).toBe(1000);
  });

  it('replays with an Idempotency-Key', async () => {
    const user = await createUser();
    const body = { items: [{ action: 'A' }, { action: 'B' }] };
    const first = await post(user, body, { 'idempotency-key': 'batch-1' }, '/api/v1/activities/batch');
    const again = await post(user, body, { 'idempotency-key': 'batch-1' }, '/api/v1/activities/batch');
    expect(again.body).toEqual(first.body);
    expect(await countOf(user.id)).toBe(2);
  });
});

describe('reading activities', () => {
  let owner: TestUser;
  let stranger: TestUser;
  let admin: TestUser;
  let ids: Record<string, number>;

  beforeAll(async () => {
    owner = await createUser();
    stranger = await createUser();
    admin = await createAdmin();
    const made = [
      await createActivity(owner, {
        action: 'LOGIN',
        timestamp: '2025-01-10T08:00:00.000Z',
        context: { source: 'WEB_APP' },
      }),
      await createActivity(owner, {
        action: 'VIEW_COURSE',
        timestamp: '2025-01-15T23:59:59.999Z',
        target: { type: 'COURSE', id: 'c-1', name: 'Intro to 100% Purpose' },
      }),
      await createActivity(owner, {
        action: 'DOWNLOAD_FILE',
        timestamp: '2025-02-01T00:00:00.000Z',
        context: { description: 'Downloaded the syllabus', source: 'MOBILE_APP' },
        status: 'DONE',
      }),
      await createActivity(stranger, { action: 'LOGIN', timestamp: '2025-01-12T00:00:00.000Z' }),
    ];
    ids = { login: made[0].id, view: made[1].id, download: made[2].id, strangers: made[3].id };
  });

  const idsOf = (res: { body: { data: { id: number }[] } }) => res.body.data.map((activity) => activity.id);

  it('lists the caller’s own activities newest first', async () => {
    const res = await listActivities(owner);
    expect(res.status).toBe(200);
    expect(idsOf(res)).toEqual([ids.download, ids.view, ids.login]);
    expect(res.body.meta).toEqual({
      totalItems: 3,
      itemCount: 3,
      itemsPerPage: 20,
      totalPages: 1,
      currentPage: 1,
      nextCursor: null,
    });
    expect(spec.problems('GET', '/api/v1/activities', 200, res.body)).toEqual([]);
  });

  it.each([
    ['action=LOGIN', ['login']],
    ['action=LOGIN,DOWNLOAD_FILE', ['download', 'login']],
    ['status=DONE', ['download']],
    ['status=COMPLETED', ['download']],
    ['targetType=COURSE', ['view']],
    ['targetId=c-1', ['view']],
    ['source=WEB_APP', ['login']],
    ['start=2025-01-11&end=2025-01-31', ['view']],
    ['end=2025-01-15', ['view', 'login']],
    ['start=2025-01-15T23:59:59.999Z', ['download', 'view']],
    ['timestamp=2025-01-15', ['view']],
    ['q=syllabus', ['download']],
    ['q=100%25', ['view']],
    ['q=login', ['login']],
    ['q=%25', ['view']],
    ['q=_', ['download', 'view']],
    ['action=NOTHING', []],
  ])('filters %s', async (query, expected) => {
    const res = await listActivities(owner, query);
    expect(res.status).toBe(200);
    expect(idsOf(res)).toEqual(expected.map((name) => ids[name]));
  });

  it.each([
    'ordering=-user',
    'ordering=timestamp;DROP',
    'status=SUCCESS',
    'targetType=PLANET',
    'start=2025-02-01&end=2025-01-01',
    'timestamp=2025-01',
    'limit=0',
    'page=-1',
    'foo=bar',
  ])('answers %s with 400', async (query) => {
    expect((await listActivities(owner, query)).status).toBe(400);
  });

  it.each([
    ['ordering=timestamp', ['login', 'view', 'download']],
    ['ordering=action', ['download', 'login', 'view']],
    ['ordering=-action', ['view', 'login', 'download']],
    ['ordering=-createdAt', ['download', 'view', 'login']],
  ])('orders by %s', async (query, expected) => {
    expect(idsOf(await listActivities(owner, query))).toEqual(expected.map((name) => ids[name]));
  });

  it('pages with limit and reads the rest by cursor, bound to its filters', async () => {
    const first = await listActivities(owner, 'limit=2');
    expect(idsOf(first)).toEqual([ids.download, ids.view]);
    expect(first.body.meta).toEqual({
      totalItems: 3,
      itemCount: 2,
      itemsPerPage: 2,
      totalPages: 2,
      currentPage: 1,
      nextCursor: expect.any(String),
    });
    const cursor = encodeURIComponent(first.body.meta.nextCursor);
    const next = await listActivities(owner, `limit=2&cursor=${cursor}`);
    expect(idsOf(next)).toEqual([ids.login]);
    expect(next.body.meta.nextCursor).toBeNull();
    expect((await listActivities(owner, `limit=2&cursor=${cursor}&ordering=-timestamp`)).status).toBe(200);
    expect((await listActivities(owner, `cursor=${cursor}&ordering=timestamp`)).status).toBe(400);
    expect((await listActivities(owner, `cursor=${cursor}&action=LOGIN`)).status).toBe(400);
    expect((await listActivities(owner, `cursor=${cursor}&page=1`)).status).toBe(400);
    expect((await listActivities(stranger, `limit=2&cursor=${cursor}`)).status).toBe(400);
    const page2 = await listActivities(owner, 'limit=2&page=2');
    expect(idsOf(page2)).toEqual([ids.login]);
    expect((await listActivities(owner, 'page=50')).body).toEqual(expect.objectContaining({ data: [] }));
  });

  it('keeps users apart: others’ userId and includeDeleted are 403 for non-ADMINs; an ADMIN sees everyone’s', async () => {
    expect(idsOf(await listActivities(stranger))).toEqual([ids.strangers]);
    expect((await listActivities(stranger, `userId=${owner.id}`)).status).toBe(403);
    expect((await listActivities(stranger, `userId=${stranger.id}`)).status).toBe(200);
    expect((await listActivities(stranger, 'includeDeleted=true')).status).toBe(403);
    const all = await listActivities(admin, 'limit=100&end=2025-03-01');
    expect(idsOf(all)).toEqual(expect.arrayContaining([ids.login, ids.strangers]));
    expect(idsOf(await listActivities(admin, `userId=${owner.id}`))).toEqual([ids.download, ids.view, ids.login]);
  });

  it('serves GET /users/:userId/activities to the user and ADMINs', async () => {
    const own = await http(`/api/v1/users/${owner.id}/activities?action=LOGIN`, { token: owner.accessToken });
    expect(own.status).toBe(200);
    expect(idsOf(own)).toEqual([ids.login]);
    expect((await http(`/api/v1/users/${owner.id}/activities`, { token: stranger.accessToken })).status).toBe(403);
    expect(idsOf(await http(`/api/v1/users/${owner.id}/activities`, { token: admin.accessToken }))).toHaveLength(3);
  });

  it('reads one activity: own 200, another’s 403, missing 404, malformed id 400', async () => {
    expect((await http(`/api/v1/activities/${ids.login}`, { token: owner.accessToken })).status).toBe(200);
    expect((await http(`/api/v1/activities/${ids.login}`, { token: stranger.accessToken })).status).toBe(403);
    expect((await http(`/api/v1/activities/${ids.login}`, { token: admin.accessToken })).status).toBe(200);
    const missing = await http('/api/v1/activities/999999999', { token: owner.accessToken });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toBe('Activity with ID 999999999 not found');
    expect((await http('/api/v1/activities/abc', { token: owner.accessToken })).status).toBe(400);
  });
});

describe('list caching', () => {
  it('hits for the same caller and query, and misses after the caller’s own write', async () => {
    const user = await createUser();
    const activity = await createActivity(user);
    expect((await listActivities(user)).headers.get('x-cache')).toBe('MISS');
    const hit = await listActivities(user);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(hit.body.data.map((a: { id: number }) => a.id)).toEqual([activity.id]);
    expect((await listActivities(user, 'limit=5')).headers.get('x-cache')).toBe('MISS');

    for (const write of [
      () => createActivity(user),
      () =>
        http('/api/v1/activities/batch', {
          method: 'POST',
          token: user.accessToken,
          body: { items: [{ action: 'B' }] },
        }),
      () => setStatus(user, activity.id, 'IN_PROGRESS'),
      () => http(`/api/v1/activities/${activity.id}`, { method: 'DELETE', token: user.accessToken }),
      () => http(`/api/v1/activities/${activity.id}/restore`, { method: 'POST', token: user.accessToken }),
    ]) {
      await listActivities(user);
      expect((await listActivities(user)).headers.get('x-cache')).toBe('HIT');
      await write();
      const after = await listActivities(user);
      expect(after.headers.get('x-cache')).toBe('MISS');
    }
  });

  it('reads from the database when the client sends Cache-Control: no-cache', async () => {
    const user = await createUser();
    await createActivity(user);
    await listActivities(user);
    expect((await listActivities(user)).headers.get('x-cache')).toBe('HIT');
    const fresh = await http('/api/v1/activities', {
      token: user.accessToken,
      headers: { 'cache-control': 'no-cache' },
    });
    expect(fresh.headers.get('x-cache')).toBe('MISS');
    expect((await listActivities(user)).headers.get('x-cache')).toBe('HIT');
  });

  it('never gives one caller another’s cached list, and refreshes ADMIN lists after anyone’s write', async () => {
    const alice = await createUser();
    const bob = await createUser();
    const admin = await createAdmin();
    await createActivity(alice);
    await listActivities(alice);
    const bobs = await listActivities(bob);
    expect(bobs.headers.get('x-cache')).toBe('MISS');
    expect(bobs.body.data).toEqual([]);

    await listActivities(admin, 'limit=1&ordering=-createdAt');
    expect((await listActivities(admin, 'limit=1&ordering=-createdAt')).headers.get('x-cache')).toBe('HIT');
    const fresh = await createActivity(bob);
    const adminAfter = await listActivities(admin, 'limit=1&ordering=-createdAt');
    expect(adminAfter.headers.get('x-cache')).toBe('MISS');
    expect(adminAfter.body.data[0].id).toBe(fresh.id);
  });

  it('refreshes the owner’s lists when an ADMIN changes the owner’s activity', async () => {
    const owner = await createUser();
    const admin = await createAdmin();
    const activity = await createActivity(owner);
    await listActivities(owner);
    expect((await listActivities(owner)).headers.get('x-cache')).toBe('HIT');
    await setStatus(admin, activity.id, 'DONE');
    const after = await listActivities(owner);
    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(after.body.data[0].status).toBe('DONE');
  });
});

describe('list caching with Redis unreachable', () => {
  it('serves from the database without waiting on Redis, and never claims a hit', async () => {
    const t = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: 'silent' });
    try {
      const user = await createUser({}, t.baseUrl);
      const activity = await createActivity(user, {}, t.baseUrl);
      for (let i = 0; i < 3; i += 1) {
        const started = Date.now();
        const res = await listActivities(user, '', t.baseUrl);
        expect(Date.now() - started).toBeLessThan(1000);
        expect(res.status).toBe(200);
        expect(res.headers.get('x-cache')).toBe('MISS');
        expect(res.body.data.map((a: { id: number }) => a.id)).toEqual([activity.id]);
      }
    } finally {
      await t.close();
    }
  });
});

describe('status changes', () => {
  it('follows PENDING -> IN_PROGRESS -> DONE, answering "Updated to …" and auditing each change', async () => {
    const user = await createUser();
    const activity = await createActivity(user);
    const started = await setStatus(user, activity.id, 'IN_PROGRESS');
    expect(started.status).toBe(200);
    expect(started.body.message).toBe('Updated to IN_PROGRESS');
    const done = await setStatus(user, activity.id, 'COMPLETED', '');
    expect(done.body).toEqual(
      expect.objectContaining({
        message: 'Updated to DONE',
        data: expect.objectContaining({ id: activity.id, status: 'DONE' }),
      }),
    );
    expect(spec.problems('PATCH', `/api/v1/activities/${activity.id}/status`, 200, started.body)).toEqual([]);
    const entries = await auditEntriesFor('ActivityLog', activity.id);
    expect(entries.map((entry) => [entry.old_values, entry.new_values])).toEqual([
      [{ status: 'PENDING' }, { status: 'IN_PROGRESS' }],
      [{ status: 'IN_PROGRESS' }, { status: 'DONE' }],
    ]);
    expect(entries[0]).toMatchObject({ user_id: String(user.id), username: user.email, action: 'UPDATE' });
  });

  it('translates the message', async () => {
    const user = await createUser();
    const activity = await createActivity(user);
    const res = await http(`/api/v1/activities/${activity.id}/status`, {
      method: 'PATCH',
      token: user.accessToken,
      body: { status: 'DONE' },
      headers: { 'accept-language': 'th' },
    });
    expect(res.body.message).toBe('อัปเดตเป็น DONE');
  });

  it('treats the same status again as a no-op: 200, no entry, updatedAt unchanged', async () => {
    const user = await createUser();
    const activity = await createActivity(user);
    const res = await setStatus(user, activity.id, 'PENDING');
    expect(res.status).toBe(200);
    expect(res.body.data.updatedAt).toBe(activity.updatedAt);
    expect(await auditEntriesFor('ActivityLog', activity.id)).toEqual([]);
  });

  it.each([
    ['DONE', 'PENDING'],
    ['DONE', 'FAILED'],
    ['FAILED', 'DONE'],
    ['IN_PROGRESS', 'PENDING'],
  ])('refuses %s -> %s with 409', async (from, to) => {
    const user = await createUser();
    const activity = await createActivity(user, { status: from });
    const res = await setStatus(user, activity.id, to);
    expect(res.status).toBe(409);
    expect((await http(`/api/v1/activities/${activity.id}`, { token: user.accessToken })).body.data.status).toBe(from);
  });

  it('answers an unknown status with 400 "Invalid status", others’ with 403, missing or deleted with 404', async () => {
    const user = await createUser();
    const stranger = await createUser();
    const activity = await createActivity(user);
    const invalid = await setStatus(user, activity.id, 'SUCCESS');
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.message).toBe('Invalid status');
    expect((await setStatus(stranger, activity.id, 'DONE')).status).toBe(403);
    expect((await setStatus(user, 999999999, 'DONE')).status).toBe(404);
    await http(`/api/v1/activities/${activity.id}`, { method: 'DELETE', token: user.accessToken });
    expect((await setStatus(user, activity.id, 'DONE')).status).toBe(404);
    expect(
      (
        await http(`/api/v1/activities/${activity.id}/status`, {
          method: 'PATCH',
          token: user.accessToken,
          body: { status: 'DONE', note: 1 },
        })
      ).status,
    ).toBe(400);
  });
});

describe('soft delete and restore', () => {
  it('hides a deleted activity (404, out of lists) but for ADMINs asking; restores it; audits both', async () => {
    const user = await createUser();
    const admin = await createAdmin();
    const activity = await createActivity(user);
    const removed = await http(`/api/v1/activities/${activity.id}`, { method: 'DELETE', token: user.accessToken });
    expect(removed.status).toBe(200);
    expect(removed.body.data.id).toBe(activity.id);
    expect((await http(`/api/v1/activities/${activity.id}`, { token: user.accessToken })).status).toBe(404);
    expect((await listActivities(user)).body.data).toEqual([]);
    expect((await listActivities(admin, `userId=${user.id}`)).body.data).toEqual([]);
    expect(
      (await listActivities(admin, `userId=${user.id}&includeDeleted=true`)).body.data.map((a: { id: number }) => a.id),
    ).toEqual([activity.id]);
    expect(
      (await http(`/api/v1/activities/${activity.id}`, { method: 'DELETE', token: user.accessToken })).status,
    ).toBe(404);

    const restored = await http(`/api/v1/activities/${activity.id}/restore`, {
      method: 'POST',
      token: user.accessToken,
    });
    expect(restored.status).toBe(200);
    expect((await listActivities(user)).body.data.map((a: { id: number }) => a.id)).toEqual([activity.id]);
    const again = await http(`/api/v1/activities/${activity.id}/restore`, { method: 'POST', token: user.accessToken });
    expect(again.status).toBe(200);
    expect((await auditEntriesFor('ActivityLog', activity.id)).map((entry) => entry.action)).toEqual([
      'DELETE',
      'RESTORE',
    ]);
  });

  it('lets an ADMIN delete and restore anyone’s; refuses others with 403, deleted or not', async () => {
    const user = await createUser();
    const stranger = await createUser();
    const admin = await createAdmin();
    const activity = await createActivity(user);
    expect(
      (await http(`/api/v1/activities/${activity.id}`, { method: 'DELETE', token: stranger.accessToken })).status,
    ).toBe(403);
    expect(
      (await http(`/api/v1/activities/${activity.id}`, { method: 'DELETE', token: admin.accessToken })).status,
    ).toBe(200);
    expect(
      (await http(`/api/v1/activities/${activity.id}/restore`, { method: 'POST', token: stranger.accessToken })).status,
    ).toBe(403);
    expect((await http(`/api/v1/activities/${activity.id}`, { token: stranger.accessToken })).status).toBe(403);
    expect(
      (await http(`/api/v1/activities/${activity.id}/restore`, { method: 'POST', token: admin.accessToken })).status,
    ).toBe(200);
    expect(
      (await http('/api/v1/activities/999999999/restore', { method: 'POST', token: admin.accessToken })).status,
    ).toBe(404);
  });
});
