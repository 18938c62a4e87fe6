import { ClientRequest, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestApp, TestApp } from './helpers/app';
import { http } from './helpers/http';

/** A request Logbook has taken on (its headers are in) whose body is still to come. */
function heldRequest(baseUrl: string): { req: ClientRequest; answered: Promise<number> } {
  const { port } = new URL(baseUrl);
  let req!: ClientRequest;
  const answered = new Promise<number>((resolve, reject) => {
    req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/v1/auth/login',
        headers: { 'content-type': 'application/json', 'content-length': '2' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.write('{');
  });
  return { req, answered };
}

describe('CONCURRENCY_LIMIT', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ CONCURRENCY_LIMIT: '2' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers 429 with Retry-After, before any work, while that many requests are in progress', async () => {
    const held = [heldRequest(t.baseUrl), heldRequest(t.baseUrl)];
    await sleep(200);

    const refused = await http('/api/v1/auth/me', { headers: { 'accept-language': 'de' } }, t.baseUrl);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body).toEqual({
      success: false,
      error: {
        code: 'HTTP_429',
        message: 'Der Dienst ist ausgelastet, bitte in Kürze erneut versuchen',
        details: null,
      },
      requestId: refused.headers.get('x-request-id'),
    });
    // Refused before the body is read or the token checked: a bad body or no token makes no difference.
    expect((await http('/api/v1/auth/login', { method: 'POST', body: '{nope' }, t.baseUrl)).status).toBe(429);
    // /health is always admitted.
    expect((await http('/health', {}, t.baseUrl)).status).toBe(200);

    // The requests in progress finish (an empty login: 400), and their places are free again.
    for (const { req } of held) req.end('}');
    expect(await Promise.all(held.map(({ answered }) => answered))).toEqual([400, 400]);
    expect((await http('/api/v1/auth/me', {}, t.baseUrl)).status).toBe(401);
  });

  it('frees the place of a request whose client went away', async () => {
    const gone = [heldRequest(t.baseUrl), heldRequest(t.baseUrl)];
    await sleep(200);
    expect((await http('/api/v1/auth/me', {}, t.baseUrl)).status).toBe(429);
    for (const { req, answered } of gone) {
      answered.catch(() => undefined);
      req.destroy();
    }
    await sleep(200);
    expect((await http('/api/v1/auth/me', {}, t.baseUrl)).status).toBe(401);
  });
});
