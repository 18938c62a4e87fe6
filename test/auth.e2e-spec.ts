import { sign } from 'jsonwebtoken';
import { startTestApp, TestApp } from './helpers/app';
import { auditEntriesFor, createUser, signIn, sql, uniqueEmail } from './helpers/factories';
import { http } from './helpers/http';

const TEST_SECRET = 'logbook-test-secret-0123456789-abcdefghij';
const me = (token: string, baseUrl?: string, scheme = 'Bearer') =>
  http('/api/v1/auth/me', { headers: { authorization: `${scheme} ${token}` } }, baseUrl);

describe('POST /auth/register', () => {
  it('creates a PARTICIPANT and signs it in', async () => {
    const email = uniqueEmail();
    const res = await http('/api/v1/auth/register', {
      method: 'POST',
      body: { email, password: 'correct horse battery', name: ' Ann ' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      success: true,
      message: 'Success',
      data: {
        user: {
          id: expect.any(Number),
          email,
          name: 'Ann',
          role: 'PARTICIPANT',
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
        },
        accessToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
        refreshToken: expect.any(String),
        tokenType: 'Bearer',
        expiresIn: 900,
      },
    });
    expect(res.body.data.user.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect((await me(res.body.data.accessToken)).body.data.email).toBe(email);
  });

  it('stores the email lower-cased and refuses it again in any case with 409', async () => {
    const email = uniqueEmail();
    const mixed = email.replace('user', 'USER').replace('example', 'Example');
    const first = await http('/api/v1/auth/register', {
      method: 'POST',
      body: { email: mixed, password: 'correct horse battery', name: 'A' },
    });
    expect(first.body.data.user.email).toBe(email);
    const again = await http('/api/v1/auth/register', {
      method: 'POST',
      body: { email, password: 'correct horse battery', name: 'B' },
    });
    expect(again.status).toBe(409);
    expect(again.body.error).toEqual({
      code: 'HTTP_409',
      message: 'An account with this email already exists',
      details: null,
    });
  });

  it.each([
    [{}, ['email', 'password', 'name']],
    [{ email: 'not-an-email', password: 'correct horse battery', name: 'A' }, ['email']],
    [{ email: 'a@example.com', password: 'short', name: 'A' }, ['password']],
    [{ email: 'a@example.com', password: 'x'.repeat(129), name: 'A' }, ['password']],
    [{ email: 'a@example.com', password: 'correct horse battery', name: '   ' }, ['name']],
    [{ email: 'a@example.com', password: 'correct horse battery', name: 'x'.repeat(101) }, ['name']],
    [{ email: 'a@example.com', password: 'correct horse battery', name: 'A', role: 'ADMIN' }, ['role']],
  ])('refuses %j with 400 naming %j, and stores nothing', async (body, fields) => {
    const res = await http('/api/v1/auth/register', { method: 'POST', body });
    expect(res.status).toBe(400);
    expect([...new Set(res.body.error.details.map((detail: { field: string }) => detail.field))].sort()).toEqual(
      [...fields].sort(),
    );
    expect(await sql('SELECT count(*)::int AS n FROM users WHERE email = $1', ['a@example.com'])).toEqual([{ n: 0 }]);
  });

  it('counts length in characters: 8 emoji are a valid password', async () => {
    const res = await http('/api/v1/auth/register', {
      method: 'POST',
      body: { email: uniqueEmail(), password: '🔒'.repeat(8), name: '名前' },
    });
    expect(res.status).toBe(201);
  });

  it('records a User CREATE entry by the new user, with the password redacted and the request context', async () => {
    const email = uniqueEmail();
    const res = await http('/api/v1/auth/register', {
      method: 'POST',
      body: { email, password: 'correct horse battery', name: 'Audited' },
      headers: { 'x-request-id': 'register-1', 'user-agent': 'jest-agent/1' },
    });
    const entries = await auditEntriesFor('User', res.body.data.user.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      user_id: String(res.body.data.user.id),
      username: email,
      action: 'CREATE',
      old_values: null,
      new_values: { email, name: 'Audited', role: 'PARTICIPANT', password: '[REDACTED]' },
      ip_address: '127.0.0.1',
      user_agent: 'jest-agent/1',
      request_id: 'register-1',
    });
    expect(JSON.stringify(entries)).not.toContain('correct horse battery');
  });

  it('answers 403 when registration is closed', async () => {
    const t = await startTestApp({ ALLOW_REGISTRATION: 'false', LOG_LEVEL: 'silent' });
    try {
      const email = uniqueEmail();
      const res = await http(
        '/api/v1/auth/register',
        { method: 'POST', body: { email, password: 'correct horse battery', name: 'A' } },
        t.baseUrl,
      );
      expect(res.status).toBe(403);
      expect(await sql('SELECT 1 FROM users WHERE email = $1', [email])).toEqual([]);
    } finally {
      await t.close();
    }
  });
});

describe('POST /auth/login', () => {
  it('signs in whatever the email case, and records LOGIN_SUCCESS', async () => {
    const user = await createUser();
    const res = await http('/api/v1/auth/login', {
      method: 'POST',
      body: { email: user.email.toUpperCase(), password: user.password },
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual(
      expect.objectContaining({ tokenType: 'Bearer', expiresIn: 900, user: expect.objectContaining({ id: user.id }) }),
    );
    const entries = (await auditEntriesFor('Auth', user.id)).filter((entry) => entry.action === 'LOGIN_SUCCESS');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ user_id: String(user.id), username: user.email, entity_id: String(user.id) });
  });

  it('answers an unknown email and a wrong password with the same 401, and records both as LOGIN_FAILED', async () => {
    const user = await createUser();
    const unknownEmail = uniqueEmail('nobody');
    const wrong = await http('/api/v1/auth/login', {
      method: 'POST',
      body: { email: user.email, password: 'wrong password!' },
    });
    const unknown = await http('/api/v1/auth/login', {
      method: 'POST',
      body: { email: unknownEmail, password: 'wrong password!' },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.error).toEqual({ code: 'HTTP_401', message: 'Invalid email or password', details: null });
    expect(unknown.body.error).toEqual(wrong.body.error);

    const [known] = (await auditEntriesFor('Auth', user.id)).filter((entry) => entry.action === 'LOGIN_FAILED');
    expect(known).toMatchObject({ user_id: String(user.id), username: user.email, new_values: { email: user.email } });
    const [stranger] = await sql(
      `SELECT * FROM audit_logs WHERE action = 'LOGIN_FAILED' AND new_values->>'email' = $1`,
      [unknownEmail],
    );
    expect(stranger).toMatchObject({ user_id: null, username: null, entity_id: null, entity_type: 'Auth' });
  });

  it('takes about as long for an unknown email as for a wrong password', async () => {
    const user = await createUser();
    const time = async (email: string) => {
      const started = process.hrtime.bigint();
      await http('/api/v1/auth/login', { method: 'POST', body: { email, password: 'wrong password!' } });
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 9; i += 1) {
      known.push(await time(user.email));
      unknown.push(await time(uniqueEmail('ghost')));
    }
    // Both verify an argon2id hash (about 40 ms on a quiet machine): a skipped verification would make one side a
    // small fraction of the other. Compared as a ratio, so that a loaded machine, which slows both, cannot fail it.
    const [fast, slow] = [median(known), median(unknown)].sort((a, b) => a - b);
    expect(fast / slow).toBeGreaterThan(0.5);
  });
});

describe('login throttling', () => {
  let t: TestApp;
  const login = (email: string, password: string, address: string) =>
    http(
      '/api/v1/auth/login',
      { method: 'POST', body: { email, password }, headers: { 'x-forwarded-for': address } },
      t.baseUrl,
    );
  let addressSeed = Math.floor(Math.random() * 200);
  const freshAddress = () =>
    `10.${(addressSeed += 1) % 250}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;

  beforeAll(async () => {
    t = await startTestApp({
      LOG_LEVEL: 'silent',
      TRUST_PROXY: 'true',
      LOGIN_MAX_FAILURES_PER_EMAIL: '3',
      LOGIN_MAX_FAILURES_PER_ADDRESS: '5',
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it('locks an email after its failures: 429 with Retry-After, even for the right password, without an audit entry', async () => {
    const user = await createUser({}, t.baseUrl);
    const address = freshAddress();
    for (let i = 0; i < 3; i += 1) expect((await login(user.email, 'wrong password!', address)).status).toBe(401);
    const entriesBefore = (await auditEntriesFor('Auth', user.id)).length;
    const locked = await login(user.email, user.password, freshAddress());
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(locked.body.error.code).toBe('HTTP_429');
    expect((await auditEntriesFor('Auth', user.id)).length).toBe(entriesBefore);
  });

  it('resets an email’s count on a successful sign-in', async () => {
    const user = await createUser({}, t.baseUrl);
    const address = freshAddress();
    await login(user.email, 'wrong password!', address);
    await login(user.email, 'wrong password!', address);
    expect((await login(user.email, user.password, address)).status).toBe(200);
    await login(user.email, 'wrong password!', address);
    await login(user.email, 'wrong password!', address);
    expect((await login(user.email, user.password, address)).status).toBe(200);
  });

  it('locks a client address after its failures across emails', async () => {
    const address = freshAddress();
    for (let i = 0; i < 5; i += 1)
      expect((await login(uniqueEmail('spray'), 'wrong password!', address)).status).toBe(401);
    const user = await createUser({}, t.baseUrl);
    expect((await login(user.email, user.password, address)).status).toBe(429);
    expect((await login(user.email, user.password, freshAddress())).status).toBe(200);
  });
});

describe('access tokens', () => {
  it('answers a missing or malformed token with 401 and WWW-Authenticate', async () => {
    const variants: Record<string, string>[] = [
      {},
      { authorization: 'Bearer' },
      { authorization: 'Basic abc' },
      { authorization: 'Bearer not.a.jwt' },
    ];
    for (const headers of variants) {
      const res = await http('/api/v1/auth/me', { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(res.body.error.code).toBe('HTTP_401');
    }
  });

  it('accepts the Token scheme as a synonym of Bearer', async () => {
    const user = await createUser();
    expect((await me(user.accessToken, undefined, 'Token')).status).toBe(200);
    expect((await me(user.accessToken, undefined, 'bearer')).status).toBe(200);
  });

  it('refuses alg none, another key, an expired token and forged claims', async () => {
    const user = await createUser();
    const [, payload] = user.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    const otherKey = sign(claims, 'another-secret-of-at-least-32-bytes!!', { algorithm: 'HS256' });
    const expired = sign({ ...claims, iat: 1000, exp: 2000 }, TEST_SECRET, { algorithm: 'HS256' });
    const escalated = `${user.accessToken.split('.')[0]}.${Buffer.from(JSON.stringify({ ...claims, role: 'ADMIN' })).toString('base64url')}.${user.accessToken.split('.')[2]}`;
    for (const token of [none, otherKey, expired, escalated]) expect((await me(token)).status).toBe(401);
  });
});

describe('POST /auth/refresh', () => {
  it('rotates: a new pair, the old refresh token spent, no audit entry', async () => {
    const user = await createUser();
    const entriesBefore = (await sql('SELECT count(*)::int AS n FROM audit_logs WHERE user_id = $1', [user.id]))[0].n;
    const res = await http('/api/v1/auth/refresh', { method: 'POST', body: { refreshToken: user.refreshToken } });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual(
      expect.objectContaining({ tokenType: 'Bearer', user: expect.objectContaining({ id: user.id }) }),
    );
    expect(res.body.data.refreshToken).not.toBe(user.refreshToken);
    expect((await me(res.body.data.accessToken)).status).toBe(200);
    expect((await sql('SELECT count(*)::int AS n FROM audit_logs WHERE user_id = $1', [user.id]))[0].n).toBe(
      entriesBefore,
    );
  });

  it('ends the whole login when a spent refresh token is presented again, and leaves other logins alone', async () => {
    const user = await createUser();
    const other = await signIn(user.email, user.password);
    const renewed = (await http('/api/v1/auth/refresh', { method: 'POST', body: { refreshToken: user.refreshToken } }))
      .body.data;
    const reuse = await http('/api/v1/auth/refresh', { method: 'POST', body: { refreshToken: user.refreshToken } });
    expect(reuse.status).toBe(401);
    expect((await me(renewed.accessToken)).status).toBe(401);
    expect(
      (await http('/api/v1/auth/refresh', { method: 'POST', body: { refreshToken: renewed.refreshToken } })).status,
    ).toBe(401);
    expect((await me(other.accessToken)).status).toBe(200);
  });

  it('answers an unknown token with 401 and a missing one with 400', async () => {
    expect((await http('/api/v1/auth/refresh', { method: 'POST', body: { refreshToken: 'nope' } })).status).toBe(401);
    expect((await http('/api/v1/auth/refresh', { method: 'POST', body: {} })).status).toBe(400);
  });
});

describe('POST /auth/logout', () => {
  it('ends this login at once (access and refresh token), records LOGOUT, and leaves other logins alone', async () => {
    const user = await createUser();
    const other = await signIn(user.email, user.password);
    expect((await me(user.accessToken)).status).toBe(200);
    const res = await http('/api/v1/auth/logout', { method: 'POST', token: user.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, message: 'Signed out', data: null });
    expect((await me(user.accessToken)).status).toBe(401);
    expect(
      (await http('/api/v1/auth/refresh', { method: 'POST', body: { refreshToken: user.refreshToken } })).status,
    ).toBe(401);
    expect((await me(other.accessToken)).status).toBe(200);
    expect((await auditEntriesFor('Auth', user.id)).filter((entry) => entry.action === 'LOGOUT')).toHaveLength(1);
  });
});

describe('POST /auth/change-password', () => {
  it('keeps this login, ends the others, and writes one PASSWORD_CHANGE entry (no User UPDATE)', async () => {
    const user = await createUser();
    const other = await signIn(user.email, user.password);
    const res = await http('/api/v1/auth/change-password', {
      method: 'POST',
      token: user.accessToken,
      body: { currentPassword: user.password, newPassword: 'a brand new secret' },
    });
    expect(res.status).toBe(200);
    expect(res.body.message).toBe('Password changed');
    expect((await me(user.accessToken)).status).toBe(200);
    expect((await me(other.accessToken)).status).toBe(401);
    expect(
      (await http('/api/v1/auth/refresh', { method: 'POST', body: { refreshToken: other.refreshToken } })).status,
    ).toBe(401);
    expect(
      (await http('/api/v1/auth/login', { method: 'POST', body: { email: user.email, password: user.password } }))
        .status,
    ).toBe(401);
    expect(
      (
        await http('/api/v1/auth/login', {
          method: 'POST',
          body: { email: user.email, password: 'a brand new secret' },
        })
      ).status,
    ).toBe(200);
    const changes = (await auditEntriesFor('Auth', user.id)).filter((entry) => entry.action === 'PASSWORD_CHANGE');
    expect(changes).toHaveLength(1);
    expect(JSON.stringify(changes)).not.toMatch(/a brand new secret|correct horse/);
    expect((await auditEntriesFor('User', user.id)).filter((entry) => entry.action === 'UPDATE')).toEqual([]);
  });

  it('refuses a wrong current password (400) and a short new one (400), changing nothing', async () => {
    const user = await createUser();
    const wrong = await http('/api/v1/auth/change-password', {
      method: 'POST',
      token: user.accessToken,
      body: { currentPassword: 'not the password', newPassword: 'a brand new secret' },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.details).toEqual([{ field: 'currentPassword', message: 'currentPassword is incorrect' }]);
    const short = await http('/api/v1/auth/change-password', {
      method: 'POST',
      token: user.accessToken,
      body: { currentPassword: user.password, newPassword: 'short' },
    });
    expect(short.status).toBe(400);
    expect(
      (await http('/api/v1/auth/login', { method: 'POST', body: { email: user.email, password: user.password } }))
        .status,
    ).toBe(200);
  });

  it('needs a token', async () => {
    expect(
      (
        await http('/api/v1/auth/change-password', {
          method: 'POST',
          body: { currentPassword: 'x', newPassword: 'yyyyyyyy' },
        })
      ).status,
    ).toBe(401);
  });
});
