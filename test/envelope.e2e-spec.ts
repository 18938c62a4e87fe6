import { http } from './helpers/http';
import { ProbeModule } from './helpers/probe.module';
import { startTestApp, TestApp } from './helpers/app';

describe('the envelope, errors and request ids (global pipe, interceptor and filter)', () => {
  let t: TestApp;
  const get = (path: string, headers: Record<string, string> = {}) => http(path, { headers }, t.baseUrl);

  beforeAll(async () => {
    t = await startTestApp({ BODY_LIMIT: '2kb' }, [ProbeModule]);
  });
  afterAll(async () => {
    await t.close();
  });

  it('wraps a plain result as { success, message, data } without meta', async () => {
    const res = await get('/api/v1/probe/plain');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, message: 'Success', data: { hello: 'world' } });
    expect(Object.keys(res.body)).toEqual(['success', 'message', 'data']);
  });

  it('adds meta to lists', async () => {
    const res = await get('/api/v1/probe/list');
    expect(res.body).toEqual({
      success: true,
      message: 'Success',
      data: [{ n: 1 }, { n: 2 }],
      meta: { totalItems: 2, itemCount: 2, itemsPerPage: 20, totalPages: 1, currentPage: 1, nextCursor: null },
    });
  });

  it.each([
    ['th', 'สำเร็จ'],
    ['th-TH,en;q=0.8', 'สำเร็จ'],
    ['de', 'Erfolg'],
    ['fr, th;q=0.5', 'สำเร็จ'],
    ['de;q=0.4, th;q=0.9', 'สำเร็จ'],
    ['th;q=0, de;q=0.1', 'Erfolg'],
    ['fr', 'Success'],
  ])('translates the message for Accept-Language %p', async (header, message) => {
    const res = await get('/api/v1/probe/plain', { 'accept-language': header });
    expect(res.body.message).toBe(message);
  });

  it('translates error messages too, but keeps validation details in English', async () => {
    const forbidden = await get('/api/v1/probe/forbidden', { 'accept-language': 'de' });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error).toEqual({ code: 'HTTP_403', message: 'Zugriff verweigert', details: null });

    const invalid = await http(
      '/api/v1/probe/batch',
      { method: 'POST', body: { items: [{ action: '' }] }, headers: { 'accept-language': 'th' } },
      t.baseUrl,
    );
    expect(invalid.body.error.message).toBe('ข้อมูลไม่ถูกต้อง');
    expect(invalid.body.error.details[0].message).toMatch(/action must be longer than or equal to 1 characters/);
  });

  it('answers a validation failure with 400 and field paths such as items[1].action', async () => {
    const res = await http(
      '/api/v1/probe/batch',
      { method: 'POST', body: { items: [{ action: 'ok' }, { action: 'much too long', note: 5 }] } },
      t.baseUrl,
    );
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: {
        code: 'HTTP_400',
        message: 'Validation failed',
        details: expect.arrayContaining([
          { field: 'items[1].action', message: expect.stringContaining('shorter than or equal to 10') },
          { field: 'items[1].note', message: 'note must be a string' },
        ]),
      },
      requestId: res.headers.get('x-request-id'),
    });
  });

  it('rejects unknown fields, also nested ones, instead of dropping them', async () => {
    const res = await http(
      '/api/v1/probe/batch',
      { method: 'POST', body: { items: [{ action: 'a', user: 3 }], id: 1 } },
      t.baseUrl,
    );
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual(
      expect.arrayContaining([
        { field: 'id', message: 'property id should not exist' },
        { field: 'items[0].user', message: 'property user should not exist' },
      ]),
    );
  });

  it.each([
    ['an array', '[1,2]'],
    ['a string', '"text"'],
    ['null', 'null'],
  ])('answers a body that is %s, not an object, with 400', async (_name, body) => {
    const res = await http('/api/v1/probe/batch', { method: 'POST', body }, t.baseUrl);
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ field: 'body', message: 'body must be a JSON object' }]);
  });

  it('answers malformed JSON with 400 in the envelope', async () => {
    const res = await http('/api/v1/probe/batch', { method: 'POST', body: '{"items": [' }, t.baseUrl);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      success: false,
      error: { code: 'HTTP_400', message: 'Malformed JSON body', details: null },
      requestId: expect.any(String),
    });
  });

  it('refuses a prototype-poisoning body', async () => {
    const res = await http(
      '/api/v1/probe/batch',
      { method: 'POST', body: '{"__proto__": {"x": 1}, "items": []}' },
      t.baseUrl,
    );
    expect(res.status).toBe(400);
    expect(res.body.success).toBe(false);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml'])(
    'answers a %s body with 415 in the envelope',
    async (contentType) => {
      const res = await http(
        '/api/v1/probe/batch',
        { method: 'POST', body: 'items=1', headers: { 'content-type': contentType } },
        t.baseUrl,
      );
      expect(res.status).toBe(415);
      expect(res.body.error.code).toBe('HTTP_415');
      expect(res.body.error.message).toMatch(/application\/json/);
    },
  );

  it('answers an oversized body with 413 in the envelope', async () => {
    const res = await http(
      '/api/v1/probe/batch',
      { method: 'POST', body: { items: [{ action: 'a', note: 'x'.repeat(4096) }] } },
      t.baseUrl,
    );
    expect(res.status).toBe(413);
    expect(res.body.error).toEqual({ code: 'HTTP_413', message: 'Request body is too large', details: null });
  });

  it('answers an unknown route with 404 in the envelope, inside and outside /api/v1', async () => {
    for (const path of ['/api/v1/nowhere', '/nowhere']) {
      const res = await get(path);
      expect(res.status).toBe(404);
      expect(res.body.error).toEqual({ code: 'HTTP_404', message: `Cannot GET ${path}`, details: null });
    }
  });

  it('maps a unique violation from PostgreSQL (23505) to 409', async () => {
    const res = await get('/api/v1/probe/unique-violation');
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('HTTP_409');
  });

  it('answers an unexpected error with a 500 that shows no internals, and logs it with the request id', async () => {
    const res = await get('/api/v1/probe/boom', { 'x-request-id': 'boom-123' });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      success: false,
      error: { code: 'HTTP_500', message: 'Internal server error', details: null },
      requestId: 'boom-123',
    });
    expect(res.text).not.toMatch(/secret|SELECT|password|at .*\.ts/);
    const logged = t.logs.find((line) => line.requestId === 'boom-123' && line.level === 'error');
    expect(logged).toBeDefined();
    expect(JSON.stringify(logged)).toContain('secret internal detail');
  });

  describe('X-Request-Id', () => {
    it('is generated when the client sends none, and equals requestId', async () => {
      const res = await get('/api/v1/nowhere');
      const id = res.headers.get('x-request-id');
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.body.requestId).toBe(id);
    });

    it('echoes a well-formed client id, on success and on error', async () => {
      expect((await get('/api/v1/probe/plain', { 'x-request-id': 'abc.DEF_1:2-3' })).headers.get('x-request-id')).toBe(
        'abc.DEF_1:2-3',
      );
      const error = await get('/api/v1/nowhere', { 'x-request-id': 'a'.repeat(128) });
      expect(error.headers.get('x-request-id')).toBe('a'.repeat(128));
      expect(error.body.requestId).toBe('a'.repeat(128));
    });

    it.each(['a'.repeat(129), 'has space', 'semi;colon', 'quote"d', '<script>'])(
      'replaces a malformed client id %p',
      async (sent) => {
        const res = await get('/api/v1/probe/plain', { 'x-request-id': sent });
        const id = res.headers.get('x-request-id');
        expect(id).not.toBe(sent);
        expect(id).toMatch(/^[0-9a-f-]{36}$/);
      },
    );

    it('is on responses outside /api/v1 too', async () => {
      const res = await get('/health', { 'x-request-id': 'health-1' });
      expect(res.headers.get('x-request-id')).toBe('health-1');
    });
  });

  it('carries the request id, client address, user agent and language to code awaited inside the handler', async () => {
    const res = await get('/api/v1/probe/context', {
      'x-request-id': 'ctx-1',
      'user-agent': 'probe/1.0',
      'accept-language': 'de',
    });
    expect(res.body.data).toEqual({
      requestId: 'ctx-1',
      ipAddress: '127.0.0.1',
      userAgent: 'probe/1.0',
      language: 'de',
      noCache: false,
    });
  });

  it('logs one structured line per request, without the body, query string or token', async () => {
    await http(
      '/api/v1/probe/batch?token=query-secret',
      {
        method: 'POST',
        body: { items: [{ action: 'zq-secret' }] },
        token: 'header-secret',
        headers: { 'x-request-id': 'log-1' },
      },
      t.baseUrl,
    );
    const line = t.logs.find((entry) => entry.requestId === 'log-1' && entry.msg === 'request completed');
    expect(line).toEqual(
      expect.objectContaining({
        level: 'info',
        method: 'POST',
        route: '/api/v1/probe/batch',
        status: 201,
        durationMs: expect.any(Number),
      }),
    );
    const all = JSON.stringify(t.logs);
    expect(all).not.toMatch(/query-secret|zq-secret|header-secret/);
  });
});
