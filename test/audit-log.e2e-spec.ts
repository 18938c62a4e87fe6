import { createAdmin, createUser, TestUser } from './helpers/factories';
import { http } from './helpers/http';
import { OpenApiResponseValidator } from './helpers/openapi-validator';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const spec = new OpenApiResponseValidator(JSON.parse(readFileSync(join(__dirname, '..', 'openapi.json'), 'utf8')));

describe('GET /audit-logs', () => {
  let admin: TestUser;
  let subject: TestUser;
  const list = (query = '') => http(`/api/v1/audit-logs${query ? `?${query}` : ''}`, { token: admin.accessToken });

  beforeAll(async () => {
    admin = await createAdmin();
    subject = await createUser({ name: 'Subject' });
    await http(`/api/v1/users/${subject.id}`, { method: 'PATCH', token: admin.accessToken, body: { name: 'Renamed' } });
    await http('/api/v1/auth/login', { method: 'POST', body: { email: subject.email, password: 'wrong password!' } });
    // An unknown email: a LOGIN_FAILED entry whose user_id is null.
    await http('/api/v1/auth/login', {
      method: 'POST',
      body: { email: `nobody-${Date.now()}@example.com`, password: 'x' },
    });
  });

  it('is for ADMINs only', async () => {
    expect((await http('/api/v1/audit-logs', { token: subject.accessToken })).status).toBe(403);
    expect((await http('/api/v1/audit-logs/1', { token: subject.accessToken })).status).toBe(403);
    expect((await http('/api/v1/audit-logs/verify', { token: subject.accessToken })).status).toBe(403);
    expect((await http('/api/v1/audit-logs')).status).toBe(401);
  });

  it('lists entries newest first with page meta, in the documented shape', async () => {
    const res = await list('limit=5');
    expect(res.status).toBe(200);
    expect(spec.problems('GET', '/api/v1/audit-logs', 200, res.body)).toEqual([]);
    const times = res.body.data.map((entry: { created_at: string }) => entry.created_at);
    expect(times).toEqual([...times].sort().reverse());
    expect(res.body.meta).toEqual(
      expect.objectContaining({ itemCount: 5, itemsPerPage: 5, currentPage: 1, totalItems: expect.any(Number) }),
    );
  });

  it('filters by action, entity_type, entity_id and user_id', async () => {
    const res = await list(`action=UPDATE&entity_type=User&entity_id=${subject.id}&user_id=${admin.id}`);
    expect(res.body.data).toEqual([
      expect.objectContaining({
        user_id: admin.id,
        username: admin.email,
        action: 'UPDATE',
        entity_type: 'User',
        entity_id: String(subject.id),
        old_values: { name: 'Subject' },
        new_values: { name: 'Renamed' },
        ip_address: '127.0.0.1',
        request_id: expect.any(String),
      }),
    ]);
    const failed = await list(`action=LOGIN_FAILED&entity_id=${subject.id}`);
    expect(failed.body.data).toHaveLength(1);
    expect(failed.body.data[0].new_values).toEqual({ email: subject.email });
  });

  it('takes dates: a date-only end includes that whole day; bounds are inclusive; start after end is 400', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const wholeDay = await list(`start_date=${today}&end_date=${today}&entity_id=${subject.id}&entity_type=User`);
    expect(wholeDay.body.data.length).toBe(2);
    const [newest] = (await list(`entity_id=${subject.id}&entity_type=User&limit=1`)).body.data;
    const exact = await list(
      `start_date=${newest.created_at}&end_date=${newest.created_at}&entity_id=${subject.id}&entity_type=User`,
    );
    expect(exact.body.data.map((entry: { id: number }) => entry.id)).toEqual([newest.id]);
    expect((await list('start_date=2025-02-01&end_date=2025-01-01')).status).toBe(400);
    expect((await list('start_date=2025-01-01&end_date=2025-01-01')).status).toBe(200);
    for (const bad of ['start_date=yesterday', 'end_date=2025-02-30', 'start_date=2025-01-01T10:00']) {
      expect((await list(bad)).status).toBe(400);
    }
  });

  it.each([
    'sort_by=password_hash',
    'sort_by=created_at;DROP TABLE users',
    'sort_by=id%20desc',
    'sort_order=SIDEWAYS',
    'action=EXPLODE',
    'action=update',
    'entity_type=MaterialMaster',
    'user_id=abc',
    'limit=101',
    'page=0',
    'cursor=abc&page=2',
  ])('answers %s with 400', async (query) => {
    const res = await list(query);
    expect(res.status).toBe(400);
    expect(spec.problems('GET', '/api/v1/audit-logs', 400, res.body)).toEqual([]);
  });

  it('sorts by each allowed field, either way, any case of sort_order; user_id nulls last', async () => {
    for (const sortBy of ['id', 'created_at', 'action', 'entity_type', 'entity_id', 'user_id']) {
      for (const order of ['asc', 'DESC']) {
        const res = await list(`sort_by=${sortBy}&sort_order=${order}&limit=50`);
        expect(res.status).toBe(200);
      }
    }
    for (const order of ['ASC', 'DESC']) {
      // Every failed sign-in, page by page: the entries with a user come first, the nulls all at the end.
      const userIds: (number | null)[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `sort_by=user_id&sort_order=${order}&limit=100&action=LOGIN_FAILED${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const page = await list(query);
        userIds.push(...page.body.data.map((entry: { user_id: number | null }) => entry.user_id));
        cursor = page.body.meta.nextCursor;
      } while (cursor);
      const firstNull = userIds.indexOf(null);
      expect(firstNull).toBeGreaterThan(0);
      expect(userIds.slice(firstNull).every((userId) => userId === null)).toBe(true);
    }
    const entityIds = (await list('sort_by=entity_id&sort_order=asc&entity_type=User&limit=100')).body.data.map(
      (entry: { entity_id: string }) => entry.entity_id,
    );
    expect(entityIds).toEqual([...entityIds].sort());
    const ids = (await list('sort_by=id&sort_order=asc&limit=20')).body.data.map((entry: { id: number }) => entry.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('reads the same entries by cursor as by page, for any sort, with the same filters only', async () => {
    // At least the 12 entries read below, however few other files have written yet.
    for (let made = 0; made < 13; made++) await createUser();
    // Other files write entries meanwhile: both reads end a millisecond before the newest entry committed now.
    // Stamps follow the chain's lock, so every entry stamped before it has committed: the set cannot change.
    const newest = (await list('limit=1')).body.data[0].created_at as string;
    const upTo = `end_date=${new Date(Date.parse(newest) - 1).toISOString()}`;
    for (const sort of ['', 'sort_by=entity_id&sort_order=asc', 'sort_by=user_id', 'sort_by=action&sort_order=ASC']) {
      const base = `limit=3&${upTo}&${sort}`;
      const byPage = (await list(`${upTo}&${sort}&limit=12`)).body.data.map((entry: { id: number }) => entry.id);
      expect(byPage).toHaveLength(12);
      const byCursor: number[] = [];
      let cursor: string | null = null;
      do {
        const page = await list(cursor ? `${base}&cursor=${encodeURIComponent(cursor)}` : base);
        expect(page.status).toBe(200);
        byCursor.push(...page.body.data.map((entry: { id: number }) => entry.id));
        cursor = page.body.meta.nextCursor;
      } while (cursor && byCursor.length < 12);
      expect(byCursor.slice(0, 12)).toEqual(byPage);
    }
    const cursor = (await list('limit=2')).body.meta.nextCursor as string;
    expect((await list(`limit=2&cursor=${cursor}&sort_order=desc&sort_by=created_at`)).status).toBe(200);
    expect((await list(`limit=2&cursor=${cursor}&sort_order=asc`)).status).toBe(400);
    expect((await list(`limit=2&cursor=${cursor}&action=CREATE`)).status).toBe(400);
  });

  it('answers a page past the end with 200 and no data, and an empty result with totalPages 0', async () => {
    const past = await list('page=100000');
    expect(past.status).toBe(200);
    expect(past.body.data).toEqual([]);
    const none = await list('entity_id=no-such-entity');
    expect(none.body.data).toEqual([]);
    expect(none.body.meta).toEqual({
      totalItems: 0,
      itemCount: 0,
      itemsPerPage: 20,
      totalPages: 0,
      currentPage: 1,
      nextCursor: null,
    });
  });
});

describe('GET /audit-logs/:id', () => {
  it('answers the entry, 404 with the documented message, or 400 for a non-integer', async () => {
    const admin = await createAdmin();
    const [entry] = (await http('/api/v1/audit-logs?limit=1', { token: admin.accessToken })).body.data;
    const res = await http(`/api/v1/audit-logs/${entry.id}`, { token: admin.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual(entry);
    expect(Object.keys(res.body.data)).toEqual([
      'id',
      'user_id',
      'username',
      'action',
      'entity_type',
      'entity_id',
      'old_values',
      'new_values',
      'ip_address',
      'user_agent',
      'request_id',
      'api_key_id',
      'created_at',
    ]);
    const missing = await http('/api/v1/audit-logs/999999999', { token: admin.accessToken });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({
      success: false,
      error: { code: 'HTTP_404', message: 'Audit Log with ID 999999999 not found', details: null },
      requestId: expect.any(String),
    });
    const thai = await http('/api/v1/audit-logs/999999999', {
      token: admin.accessToken,
      headers: { 'accept-language': 'th' },
    });
    expect(thai.body.error.message).toBe('ไม่พบ Audit Log ที่มี ID 999999999');
    expect((await http('/api/v1/audit-logs/abc', { token: admin.accessToken })).status).toBe(400);
  });
});
