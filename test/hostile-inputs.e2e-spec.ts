import { startTestApp, TestApp } from './helpers/app';
import { createAdmin, createUser, sql, TestUser, uniqueEmail } from './helpers/factories';
import { http, sharedBaseUrl } from './helpers/http';
import { closeConnections, envelopeProblems, send } from './helpers/hostile';

/*
 * The inputs the hostile fuzz (hostile-fuzz.e2e-spec.ts) found answered with a 500, outside the envelope or stored
 * other than sent, each kept here as a regression test against the shared app: a 4xx in the envelope that names
 * the field, and nothing stored.
 */

describe('hostile inputs the fuzz found', () => {
  let user: TestUser;
  let admin: TestUser;
  const activities = async () =>
    (await sql<{ n: number }>('SELECT count(*)::int AS n FROM activities WHERE user_id = $1', [user.id]))[0].n;
  const post = (body: unknown) =>
    http('/api/v1/activities', {
      method: 'POST',
      token: user.accessToken,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
  const nested = (levels: number, leaf: unknown) => {
    let value = leaf;
    for (let level = 0; level < levels; level++) value = { d: value };
    return value;
  };

  beforeAll(async () => {
    user = await createUser();
    admin = await createAdmin();
  });
  afterAll(() => closeConnections());

  describe('NUL, which PostgreSQL cannot store (was a 500), and unpaired surrogates (a 500 in free-form JSON)', () => {
    it.each([
      ['a NUL in a text column', { action: 'a\u0000b' }, 'action', 'action must not contain NUL characters'],
      [
        'a NUL in free-form JSON',
        { action: 'x', metadata: { a: 'x\u0000' } },
        'metadata.a',
        'metadata.a must not contain NUL characters',
      ],
      [
        'a NUL in a key of free-form JSON',
        { action: 'x', metadata: { 'a\u0000': 1 } },
        'metadata',
        'metadata must not have keys with NUL characters',
      ],
      [
        'a NUL inside a batch item',
        { items: [{ action: 'ok' }, { action: 'x', context: { source: '\u0000' } }] },
        'items[1].context.source',
        'items[1].context.source must not contain NUL characters',
      ],
    ])('%s: 400 naming the field, nothing stored', async (_, body, field, message) => {
      const before = await activities();
      const res = await (field.startsWith('items')
        ? http('/api/v1/activities/batch', { method: 'POST', token: user.accessToken, body })
        : post(body));
      expect(res.status).toBe(400);
      expect(res.body.error.details).toEqual([{ field, message }]);
      expect(await activities()).toBe(before);
    });

    it('stores an unpaired surrogate as U+FFFD in free-form JSON, keys included, as text columns always did', async () => {
      const res = await post({
        action: 'x\uDC00',
        metadata: { a: '\uD800', 'k\uDBFF': ['\u{1F600}\uD83D'] },
        context: { additionalInfo: { b: 'y\uDFFF' } },
      });
      expect(res.status).toBe(201);
      expect(res.body.data.action).toBe('x\uFFFD');
      expect(res.body.data.metadata).toEqual({ a: '\uFFFD', 'k\uFFFD': ['\u{1F600}\uFFFD'] });
      expect(res.body.data.context.additionalInfo).toEqual({ b: 'y\uFFFD' });
      const read = await http(`/api/v1/activities/${res.body.data.id}`, { token: user.accessToken });
      expect(JSON.stringify(read.body.data)).toBe(JSON.stringify(res.body.data));
    });

    it('still takes paired surrogates, emoji with variation selectors and other unusual but valid text', async () => {
      const text = '\u{1F600}\u2764\uFE0F \u202Eabc \uFEFF\uFFFF e\u0301 مرحبا';
      const res = await post({ action: text, metadata: { [text]: text } });
      expect(res.status).toBe(201);
      expect(res.body.data.action).toBe(text);
      expect(res.body.data.metadata).toEqual({ [text]: text });
    });

    it.each([
      ['/api/v1/activities?q=%00', 'q'],
      ['/api/v1/activities?action=a&action=b%00', 'action[1]'],
      ['/api/v1/activities?targetId=a%00b', 'targetId'],
      ['/api/v1/activities/export?q=%00', 'q'],
      ['/api/v1/users?q=%00', 'q'],
      ['/api/v1/audit-logs?entity_id=%00', 'entity_id'],
    ])('a NUL in the query of %s: 400 naming the parameter', async (path, field) => {
      const res = await http(path, { token: admin.accessToken });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toEqual([{ field, message: expect.stringMatching(/NUL characters/) }]);
    });

    it('refuses a NUL at sign-up and sign-in with 400, writing no user and no audit entry', async () => {
      const email = uniqueEmail('nul');
      const register = await http('/api/v1/auth/register', {
        method: 'POST',
        body: { email, password: 'correct horse battery', name: 'a\u0000' },
      });
      expect(register.status).toBe(400);
      expect(register.body.error.details[0].field).toBe('name');
      expect(await sql('SELECT 1 FROM users WHERE email = $1', [email])).toEqual([]);
      const login = await http('/api/v1/auth/login', {
        method: 'POST',
        body: { email: `${email}\u0000`, password: 'whatever' },
      });
      expect(login.status).toBe(400);
      expect(login.body.error.details[0].field).toBe('email');
      const entries = await sql(`SELECT 1 FROM audit_logs WHERE new_values->>'email' LIKE $1`, [`${email}%`]);
      expect(entries).toEqual([]);
    });
  });

  describe('nesting deeper than 64 levels (was a 500: the stack overflowed in validation)', () => {
    it.each([
      ['free-form JSON', { action: 'x', metadata: nested(100, 1) }],
      ['a field that takes text', { action: nested(100, 'x') }],
      ['an object field', { action: 'x', context: { description: nested(70, 'x') } }],
    ])('%s: 400, nothing stored', async (_, body) => {
      const before = await activities();
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(res.body.error.details).toEqual([
        { field: 'body', message: 'body must not be nested more than 64 levels deep' },
      ]);
      expect(await activities()).toBe(before);
    });

    it('a body 20,000 levels deep: 400', async () => {
      const res = await post(`{"items":${'['.repeat(20_000)}${']'.repeat(20_000)}}`);
      expect(res.status).toBe(400);
    });

    it('takes metadata nested 60 levels deep, as sent', async () => {
      const metadata = nested(60, 'leaf') as Record<string, unknown>;
      const res = await post({ action: 'x', metadata });
      expect(res.status).toBe(201);
      expect(res.body.data.metadata).toEqual(metadata);
    });
  });

  describe('integers past 2^53 in the query (were a 500: bigint out of range, or an OFFSET overflow)', () => {
    it.each([
      '/api/v1/activities?page=9223372036854775808',
      '/api/v1/users?page=9223372036854775808',
      '/api/v1/audit-logs?page=9223372036854775808',
      '/api/v1/activities?userId=99999999999999999999',
      '/api/v1/activities/export?userId=99999999999999999999',
      '/api/v1/audit-logs?user_id=9007199254740993',
    ])('%s: 400', async (path) => {
      const res = await http(path, { token: admin.accessToken });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toContainEqual({
        field: expect.any(String),
        message: expect.stringMatching(/must be an integer number/),
      });
    });

    it('still takes the largest safe page: 200 and no data', async () => {
      const res = await http('/api/v1/activities?page=9007199254740991', { token: user.accessToken });
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual([]);
    });
  });

  describe('an activity time before year 1 (was a 500: PostgreSQL cannot read year 0000)', () => {
    it.each(['0000-01-01T00:00:00Z', '0000-12-31T23:59:59.999Z', '0001-01-01T00:00:00+14:00'])(
      '%s: 400, nothing stored',
      async (timestamp) => {
        const before = await activities();
        const res = await post({ action: 'x', timestamp });
        expect(res.status).toBe(400);
        expect(res.body.error.details[0].field).toBe('timestamp');
        expect(await activities()).toBe(before);
      },
    );

    it('takes the first instant of year 1', async () => {
      const res = await post({ action: 'x', timestamp: '0001-01-01T00:00:00.000Z' });
      expect(res.status).toBe(201);
      expect(res.body.data.timestamp).toBe('0001-01-01T00:00:00.000Z');
    });
  });

  describe('PATCH /users/:id with null (was a 500: a NOT NULL violation)', () => {
    it.each([[{ name: null }], [{ role: null }]])('%j: 400, the user unchanged', async (body) => {
      const target = await createUser({ name: 'Keeps Name' });
      const res = await http(`/api/v1/users/${target.id}`, { method: 'PATCH', token: admin.accessToken, body });
      expect(res.status).toBe(400);
      const [row] = await sql('SELECT name, role FROM users WHERE id = $1', [target.id]);
      expect(row).toEqual({ name: 'Keeps Name', role: 'PARTICIPANT' });
    });
  });

  describe('what the router or Node refuses is in the envelope too (was Fastify’s own JSON)', () => {
    it.each([
      ['a path id of 600 digits', `/api/v1/users/${'9'.repeat(600)}`],
      ['a malformed percent-encoding', '/api/v1/users/%E0%A4%A'],
      ['a malformed percent-encoding outside /api/v1', '/health/%E0%A4%A'],
    ])('%s: 400 with X-Request-Id', async (_, path) => {
      const res = await send(sharedBaseUrl(), {
        method: 'GET',
        path,
        headers: { authorization: `Bearer ${admin.accessToken}`, 'x-request-id': 'hostile-1', 'accept-language': 'de' },
      });
      expect(res.status).toBe(400);
      expect(envelopeProblems(res)).toEqual([]);
      expect(res.headers['x-request-id']).toBe('hostile-1');
      expect((res.json as { error: { message: string } }).error.message).toBe('Validierung fehlgeschlagen');
    });

    it('headers over Node’s limit: 431 in the envelope', async () => {
      const res = await send(sharedBaseUrl(), {
        method: 'GET',
        path: '/api/v1/auth/me',
        headers: { authorization: `Bearer ${'a'.repeat(20_000)}` },
      });
      expect(res.status).toBe(431);
      expect(envelopeProblems(res)).toEqual([]);
    });

    // http() holds every answer to openapi.json: these statuses must be documented for these operations.
    it('a body sent to an operation that takes none: a documented 415 or 400', async () => {
      const activity = (await post({ action: 'x' })).body.data;
      const wrongType = await http(`/api/v1/activities/${activity.id}`, {
        method: 'DELETE',
        token: user.accessToken,
        headers: { 'content-type': 'text/plain' },
        body: 'x',
      });
      expect(wrongType.status).toBe(415);
      const malformed = await http('/api/v1/auth/logout', { method: 'POST', token: user.accessToken, body: '{' });
      expect(malformed.status).toBe(400);
      expect((await http('/api/v1/auth/me', { token: user.accessToken })).status).toBe(200);
    });
  });

  describe('with TRUST_PROXY, an X-Forwarded-For that is no address (was a 500: it overflowed its column)', () => {
    let proxied: TestApp;
    beforeAll(async () => {
      proxied = await startTestApp({ TRUST_PROXY: 'true', LOG_LEVEL: 'silent' });
    });
    afterAll(async () => {
      await proxied.close();
    });

    it.each([
      ['100 letters', 'a'.repeat(100), '127.0.0.1'],
      ['an IPv6 address with an 80-letter zone', `fe80::1%${'a'.repeat(80)}`, '127.0.0.1'],
      ['a word', 'garbage', '127.0.0.1'],
      ['an IPv4 address', '203.0.113.9', '203.0.113.9'],
      ['a chain of proxies', '2001:db8::1, 10.0.0.1', '2001:db8::1'],
    ])('%s in X-Forwarded-For: the address if it is one, else the peer’s', async (_, forwarded, recorded) => {
      const res = await http(
        '/api/v1/activities',
        { method: 'POST', token: user.accessToken, body: { action: 'x' }, headers: { 'x-forwarded-for': forwarded } },
        proxied.baseUrl,
      );
      expect(res.status).toBe(201);
      expect(res.body.data.ipAddress).toBe(recorded);
    });

    it('signs in through a garbage X-Forwarded-For', async () => {
      const res = await http(
        '/api/v1/auth/login',
        {
          method: 'POST',
          body: { email: user.email, password: user.password },
          headers: { 'x-forwarded-for': 'b'.repeat(100) },
        },
        proxied.baseUrl,
      );
      expect(res.status).toBe(200);
    });
  });
});
