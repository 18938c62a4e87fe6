import { randomBytes } from 'node:crypto';
import { startTestApp, TestApp } from './helpers/app';
import { createUser, sql, uniqueEmail } from './helpers/factories';
import { http } from './helpers/http';

/** Security headers, CORS from an allow-list, the global rate limit, and no secret in any log line. */

const API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function expectHelmetHeaders(headers: Headers): void {
  expect(headers.get('x-content-type-options')).toBe('nosniff');
  expect(headers.get('x-frame-options')).toBe('SAMEORIGIN');
  expect(headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
  expect(headers.get('referrer-policy')).toBe('no-referrer');
  expect(headers.get('cross-origin-resource-policy')).toBe('same-origin');
  expect(headers.get('cross-origin-opener-policy')).toBe('same-origin');
  expect(headers.get('x-powered-by')).toBeNull();
}

describe('security headers', () => {
  it.each([
    ['a success', '/api/v1/auth/me', true, 200],
    ['a 401', '/api/v1/auth/me', false, 401],
    ['an unknown route', '/api/v1/nothing-here', false, 404],
    ['the health check', '/health', false, 200],
    ['the OpenAPI document', '/docs-json', false, 200],
  ])('are on %s, with a CSP that lets an API response load nothing', async (_name, path, signedIn, status) => {
    const token = signedIn ? (await createUser()).accessToken : undefined;
    const res = await http(path, { token });
    expect(res.status).toBe(status);
    expectHelmetHeaders(res.headers);
    expect(res.headers.get('content-security-policy')).toBe(API_CSP);
  });

  it('are on a refused body (413) and a malformed one (400)', async () => {
    // A small limit, so that the whole body is sent before the answer (a large one can meet a reset socket).
    const t = await startTestApp({ BODY_LIMIT: '1kb', LOG_LEVEL: 'silent' });
    try {
      const { accessToken } = await createUser({}, t.baseUrl);
      for (const [body, status] of [
        [JSON.stringify({ action: 'x'.repeat(2048) }), 413],
        ['{"action":', 400],
      ] as const) {
        const res = await http('/api/v1/activities', { method: 'POST', token: accessToken, body }, t.baseUrl);
        expect(res.status).toBe(status);
        expectHelmetHeaders(res.headers);
        expect(res.headers.get('content-security-policy')).toBe(API_CSP);
      }
    } finally {
      await t.close();
    }
  });

  it('let Swagger UI load its own scripts and styles, and nothing from elsewhere', async () => {
    const res = await http('/docs');
    expect(res.status).toBe(200);
    expectHelmetHeaders(res.headers);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(csp).toContain("frame-ancestors 'self'");
    expect(csp).not.toMatch(/https?:|\*/);
  });
});

describe('CORS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ CORS_ORIGINS: 'https://app.example.com,http://localhost:5173', LOG_LEVEL: 'silent' });
  });
  afterAll(() => t.close());

  const preflight = (baseUrl: string, origin: string) =>
    fetch(`${baseUrl}/api/v1/activities`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, idempotency-key',
      },
    });

  it('answers a preflight from an allowed origin with what the API needs', async () => {
    const res = await preflight(t.baseUrl, 'https://app.example.com');
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(res.headers.get('access-control-allow-methods')).toContain('PATCH');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('idempotency-key');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-api-key');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('gives an origin outside the list no CORS header at all', async () => {
    const res = await preflight(t.baseUrl, 'https://evil.example.net');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const get = await fetch(`${t.baseUrl}/health`, { headers: { origin: 'https://evil.example.net' } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('exposes the headers a browser client reads on an allowed request', async () => {
    const res = await fetch(`${t.baseUrl}/api/v1/auth/me`, { headers: { origin: 'http://localhost:5173' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(res.headers.get('access-control-expose-headers')).toContain('X-Request-Id');
    expect(res.headers.get('access-control-expose-headers')).toContain('Retry-After');
  });

  it('is off without CORS_ORIGINS', async () => {
    const res = await preflight(process.env.TEST_BASE_URL!, 'https://app.example.com');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('global rate limit', () => {
  // Each test is its own client address (X-Forwarded-For, trusted here), so runs never share a count, in memory or
  // in a shared Redis.
  const clientAddress = () => `10.${randomBytes(3).join('.')}`;
  const LIMIT = 5;
  // A window of an hour: a run cannot straddle two windows, which would restart the count mid-test.
  const settings = { RATE_LIMIT_MAX: String(LIMIT), RATE_LIMIT_WINDOW: '1h', TRUST_PROXY: 'true' };
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ...settings, LOG_LEVEL: 'silent' });
  });
  afterAll(() => t.close());

  it('counts each client, then answers 429 in the envelope with Retry-After, and stores nothing', async () => {
    const address = clientAddress();
    const { accessToken } = await createUser();
    const headers = { 'x-forwarded-for': address, 'accept-language': 'de' };
    for (let sent = 1; sent <= LIMIT; sent++) {
      const res = await http('/api/v1/activities', { token: accessToken, headers }, t.baseUrl);
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-limit')).toBe(String(LIMIT));
      expect(res.headers.get('ratelimit-remaining')).toBe(String(LIMIT - sent));
      expect(Number(res.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
    }
    const refused = await http(
      '/api/v1/activities',
      { method: 'POST', token: accessToken, headers, body: { action: 'OVER_THE_LIMIT' } },
      t.baseUrl,
    );
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(refused.body).toEqual({
      success: false,
      error: {
        code: 'HTTP_429',
        message: `Zu viele Anfragen; erneut versuchen in ${retryAfter} Sekunden`,
        details: null,
      },
      requestId: refused.headers.get('x-request-id'),
    });
    expectHelmetHeaders(refused.headers);
    // Only this request's own action: other test files write activities to the same database meanwhile.
    const [{ count: stored }] = await sql<{ count: string }>(
      `SELECT count(*) FROM activities WHERE action = 'OVER_THE_LIMIT'`,
    );
    expect(stored).toBe('0');

    // Another client is not affected, and the health check is never limited.
    const other = await http(
      '/api/v1/auth/me',
      { token: accessToken, headers: { 'x-forwarded-for': clientAddress() } },
      t.baseUrl,
    );
    expect(other.status).toBe(200);
    const health = await http('/health', { headers }, t.baseUrl);
    expect(health.status).toBe(200);
    expect(health.headers.get('ratelimit-limit')).toBeNull();
  });
  // Counted across instances through Redis: test/multi-instance.e2e-spec.ts.
});

describe('secrets in the logs', () => {
  it('a whole account journey logs no password, token, hash or signing key', async () => {
    const secret = `log-test-secret-${randomBytes(16).toString('hex')}`;
    const t = await startTestApp({ LOG_LEVEL: 'trace', JWT_SECRET: secret });
    try {
      const email = uniqueEmail('journey');
      const password = `pw-${randomBytes(8).toString('hex')}`;
      const newPassword = `new-${randomBytes(8).toString('hex')}`;
      const registered = await createUser({ email, password }, t.baseUrl);
      const wrong = await http(
        '/api/v1/auth/login',
        { method: 'POST', body: { email, password: `${password}x` } },
        t.baseUrl,
      );
      expect(wrong.status).toBe(401);
      const login = await http('/api/v1/auth/login', { method: 'POST', body: { email, password } }, t.baseUrl);
      expect(login.status).toBe(200);
      const refreshed = await http(
        '/api/v1/auth/refresh',
        { method: 'POST', body: { refreshToken: login.body.data.refreshToken } },
        t.baseUrl,
      );
      expect(refreshed.status).toBe(200);
      const reused = await http(
        '/api/v1/auth/refresh',
        { method: 'POST', body: { refreshToken: login.body.data.refreshToken } },
        t.baseUrl,
      );
      expect(reused.status).toBe(401);
      const changed = await http(
        '/api/v1/auth/change-password',
        { method: 'POST', token: registered.accessToken, body: { currentPassword: password, newPassword } },
        t.baseUrl,
      );
      expect(changed.status).toBe(200);
      const created = await http(
        '/api/v1/activities',
        { method: 'POST', token: registered.accessToken, body: { action: 'LOGIN', metadata: { note: 'journey' } } },
        t.baseUrl,
      );
      expect(created.status).toBe(201);
      const malformed = await http('/api/v1/auth/me', { token: `${registered.accessToken}tampered` }, t.baseUrl);
      expect(malformed.status).toBe(401);
      const logout = await http('/api/v1/auth/logout', { method: 'POST', token: registered.accessToken }, t.baseUrl);
      expect(logout.status).toBe(200);

      const [{ password_hash: hash }] = await sql<{ password_hash: string }>(
        'SELECT password_hash FROM users WHERE email = $1',
        [email],
      );
      const text = JSON.stringify(t.logs);
      expect(t.logs.length).toBeGreaterThan(10); // the journey was logged at all
      const secrets = {
        password,
        newPassword,
        wrongPassword: `${password}x`,
        signingKey: secret,
        hash,
        accessToken: registered.accessToken,
        loginAccessToken: login.body.data.accessToken,
        refreshToken: login.body.data.refreshToken,
        rotatedRefreshToken: refreshed.body.data.refreshToken,
      };
      for (const [name, value] of Object.entries(secrets)) {
        expect([name, text.includes(value)]).toEqual([name, false]);
      }
      expect(text).not.toMatch(/\$argon2/);
      expect(text).not.toMatch(/eyJ[\w-]+\.eyJ/); // no JWT of anyone
    } finally {
      await t.close();
    }
  });
});

describe('log injection', () => {
  it('cannot forge a log line: input with line breaks and JSON stays inside one escaped value', async () => {
    const t = await startTestApp({ LOG_LEVEL: 'trace' });
    try {
      const forged = '\n{"level":"fatal","msg":"forged entry"}\r\n';
      const login = await http(
        '/api/v1/auth/login',
        { method: 'POST', body: { email: `x${forged}@example.com`, password: `p${forged}` } },
        t.baseUrl,
      );
      expect(login.status).toBe(401); // an unknown email, recorded as LOGIN_FAILED with the text as data
      const unknown = await http(`/api/v1/${encodeURIComponent(forged)}`, {}, t.baseUrl);
      expect(unknown.status).toBe(404);
      const { accessToken } = await createUser({}, t.baseUrl);
      const created = await http(
        '/api/v1/activities',
        { method: 'POST', token: accessToken, body: { action: `LOGIN${forged}`, metadata: { note: forged } } },
        t.baseUrl,
      );
      expect(created.status).toBe(201);
      expect(created.body.data.action).toBe(`LOGIN${forged}`.trim());

      // Every captured line parsed as one JSON object (startTestApp splits on newlines): none is the forgery.
      expect(t.logs.length).toBeGreaterThan(3);
      expect(t.logs.filter((line) => line.msg === 'forged entry' || line.level === 'fatal')).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
