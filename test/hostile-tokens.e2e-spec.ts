import { createHmac, randomUUID } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import { createAdmin, createUser, signIn, sql, TestUser } from './helpers/factories';
import { http, HttpResponse } from './helpers/http';

/*
 * Every kind of bad credential, against the shared app (with Redis when CI has it, so revocations travel as in
 * production): each is a 401 in the envelope with WWW-Authenticate, on a read, on a write (which stores nothing)
 * and on an ADMIN route (401, not 403: a forged ADMIN claim is not a signed-in ADMIN).
 */

const TEST_SECRET = 'logbook-test-secret-0123456789-abcdefghij';
const OTHER_SECRET = 'another-secret-that-is-also-32-bytes-long';

const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
/** A JWT with this header and these claims, HMAC-SHA256-signed with `key`, whatever the header says. */
function hs256(header: Record<string, unknown>, claims: Record<string, unknown>, key = TEST_SECRET): string {
  const unsigned = `${segment(header)}.${segment(claims)}`;
  return `${unsigned}.${createHmac('sha256', key).update(unsigned).digest('base64url')}`;
}

interface Context {
  user: TestUser;
  other: TestUser;
  admin: TestUser;
}

type Case = [name: string, authorization: (context: Context) => Promise<string | undefined> | string | undefined];

const now = () => Math.floor(Date.now() / 1000);

const CASES: Case[] = [
  ['no Authorization header', () => undefined],
  ['garbage: not a JWT', () => 'Bearer garbage'],
  ['garbage: three empty-ish segments', () => 'Bearer a.b.c'],
  ['garbage: empty JSON segments, no signature', () => 'Bearer e30.e30.'],
  ['garbage: the scheme alone', () => 'Bearer'],
  ['garbage: an empty header', () => ''],
  ['garbage: 8 kB of base64url', () => `Bearer ${'A'.repeat(4000)}.${'B'.repeat(4000)}.C`],
  ['garbage: a JWT cut short', ({ user }) => `Bearer ${user.accessToken.slice(0, -10)}`],
  [
    'garbage: a JWT with its signature altered',
    ({ user }) => {
      const [header, payload, signature] = user.accessToken.split('.');
      return `Bearer ${header}.${payload}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    },
  ],
  ['wrong scheme: Basic', ({ user }) => `Basic ${user.accessToken}`],
  ['wrong scheme: JWT', ({ user }) => `JWT ${user.accessToken}`],
  ['wrong scheme: none at all', ({ user }) => user.accessToken],
  ['wrong scheme: Bearer twice', ({ user }) => `Bearer Bearer ${user.accessToken}`],
  ['wrong scheme: a second word after the token', ({ user }) => `Bearer ${user.accessToken} extra`],
  ['wrong scheme: Bearer: with a colon', ({ user }) => `Bearer: ${user.accessToken}`],
  [
    'alg none without a signature',
    ({ user }) => `Bearer ${segment({ alg: 'none', typ: 'JWT' })}.${segment(claimsOf(user.accessToken))}.`,
  ],
  [
    'alg none keeping the original signature',
    ({ user }) =>
      `Bearer ${segment({ alg: 'none', typ: 'JWT' })}.${segment(claimsOf(user.accessToken))}.${user.accessToken.split('.')[2]}`,
  ],
  ['alg NONE in capitals', ({ user }) => `Bearer ${segment({ alg: 'NONE' })}.${segment(claimsOf(user.accessToken))}.`],
  [
    'HS512 with the right key',
    ({ user }) => `Bearer ${sign(claimsOf(user.accessToken), TEST_SECRET, { algorithm: 'HS512' })}`,
  ],
  [
    'an RS256 header over an HS256 signature',
    ({ user }) => `Bearer ${hs256({ alg: 'RS256', typ: 'JWT' }, claimsOf(user.accessToken))}`,
  ],
  [
    'signed with another key',
    ({ user }) => `Bearer ${sign(claimsOf(user.accessToken), OTHER_SECRET, { algorithm: 'HS256' })}`,
  ],
  [
    'expired',
    ({ user }) =>
      `Bearer ${sign({ ...claimsOf(user.accessToken), iat: now() - 3600, exp: now() - 60 }, TEST_SECRET, { algorithm: 'HS256' })}`,
  ],
  [
    'not valid yet (nbf in an hour)',
    ({ user }) =>
      `Bearer ${sign({ ...claimsOf(user.accessToken), nbf: now() + 3600 }, TEST_SECRET, { algorithm: 'HS256' })}`,
  ],
  [
    'an expiry that is not a number',
    ({ user }) => `Bearer ${hs256({ alg: 'HS256', typ: 'JWT' }, { ...claimsOf(user.accessToken), exp: 'never' })}`,
  ],
  [
    'forged claims: role ADMIN under the original signature',
    ({ user }) => {
      const [header, , signature] = user.accessToken.split('.');
      return `Bearer ${header}.${segment({ ...claimsOf(user.accessToken), role: 'ADMIN' })}.${signature}`;
    },
  ],
  [
    'forged claims: another user’s sub under the original signature',
    ({ user, other }) => {
      const [header, , signature] = user.accessToken.split('.');
      return `Bearer ${header}.${segment({ ...claimsOf(user.accessToken), sub: String(other.id) })}.${signature}`;
    },
  ],
  [
    'the right key, but a login that never existed',
    ({ user }) =>
      `Bearer ${sign({ ...claimsOf(user.accessToken), sid: randomUUID() }, TEST_SECRET, { algorithm: 'HS256' })}`,
  ],
  [
    'the right key, but no login named',
    ({ user }) => {
      const { sid: _sid, ...claims } = claimsOf(user.accessToken);
      return `Bearer ${sign(claims, TEST_SECRET, { algorithm: 'HS256' })}`;
    },
  ],
  [
    'the right key, but a role that does not exist',
    ({ user }) =>
      `Bearer ${sign({ ...claimsOf(user.accessToken), role: 'ROOT' }, TEST_SECRET, { algorithm: 'HS256' })}`,
  ],
  ['a refresh token as an access token', ({ user }) => `Bearer ${user.refreshToken}`],
  [
    'a deleted user’s',
    async ({ admin }) => {
      const doomed = await createUser();
      const res = await http(`/api/v1/users/${doomed.id}`, { method: 'DELETE', token: admin.accessToken });
      expect(res.status).toBe(200);
      return `Bearer ${doomed.accessToken}`;
    },
  ],
  [
    'after logout',
    async () => {
      const leaving = await createUser();
      expect((await http('/api/v1/auth/logout', { method: 'POST', token: leaving.accessToken })).status).toBe(200);
      return `Bearer ${leaving.accessToken}`;
    },
  ],
  [
    'another login’s, after a password change',
    async () => {
      const changer = await createUser();
      const elsewhere = await signIn(changer.email, changer.password);
      const res = await http('/api/v1/auth/change-password', {
        method: 'POST',
        token: changer.accessToken,
        body: { currentPassword: changer.password, newPassword: 'a brand new passphrase' },
      });
      expect(res.status).toBe(200);
      expect((await http('/api/v1/auth/me', { token: changer.accessToken })).status).toBe(200); // this login stays
      return `Bearer ${elsewhere.accessToken}`;
    },
  ],
  [
    'after a role change',
    async ({ admin }) => {
      const promoted = await createUser();
      const res = await http(`/api/v1/users/${promoted.id}`, {
        method: 'PATCH',
        token: admin.accessToken,
        body: { role: 'INSTRUCTOR' },
      });
      expect(res.status).toBe(200);
      return `Bearer ${promoted.accessToken}`;
    },
  ],
  [
    'of a login ended by a spent refresh token presented again',
    async () => {
      const robbed = await createUser();
      const renewed = await http('/api/v1/auth/refresh', {
        method: 'POST',
        body: { refreshToken: robbed.refreshToken },
      });
      expect(renewed.status).toBe(200);
      const replay = await http('/api/v1/auth/refresh', {
        method: 'POST',
        body: { refreshToken: robbed.refreshToken },
      });
      expect(replay.status).toBe(401);
      return `Bearer ${renewed.body.data.accessToken}`;
    },
  ],
];

describe('bad access tokens', () => {
  const context = {} as Context;

  beforeAll(async () => {
    context.user = await createUser();
    context.other = await createUser();
    context.admin = await createAdmin();
  });

  const as = (authorization: string | undefined): Record<string, string> =>
    authorization === undefined ? {} : { authorization };
  const stored = async () =>
    (
      await sql<{ n: number }>('SELECT count(*)::int AS n FROM activities WHERE user_id = ANY($1)', [
        [context.user.id, context.other.id],
      ])
    )[0].n;

  function expectRefused(res: HttpResponse, what: string): void {
    expect([what, res.status]).toEqual([what, 401]);
    expect([what, res.headers.get('www-authenticate')]).toEqual([what, 'Bearer']);
    expect([what, res.body]).toEqual([
      what,
      {
        success: false,
        error: { code: 'HTTP_401', message: 'Missing, invalid, expired or revoked access token', details: null },
        requestId: res.headers.get('x-request-id'),
      },
    ]);
  }

  it('lets the genuine token through (so that the refusals below are about the token)', async () => {
    for (const scheme of ['Bearer', 'Token', 'bearer']) {
      const res = await http('/api/v1/auth/me', {
        headers: { authorization: `${scheme} ${context.user.accessToken}` },
      });
      expect([scheme, res.status, res.body.data?.id]).toEqual([scheme, 200, context.user.id]);
    }
    const admin = await http('/api/v1/audit-logs?limit=1', { token: context.admin.accessToken });
    expect(admin.status).toBe(200);
  });

  it.each(CASES)('%s: 401 on a read, a write and an ADMIN route', async (_name, authorization) => {
    const headers = as(await authorization(context));
    const before = await stored();
    expectRefused(await http('/api/v1/auth/me', { headers }), 'GET /auth/me');
    expectRefused(await http('/api/v1/activities', { headers }), 'GET /activities');
    expectRefused(
      await http('/api/v1/activities', { method: 'POST', headers, body: { action: 'MUST_NOT_BE_STORED' } }),
      'POST /activities',
    );
    expectRefused(await http('/api/v1/audit-logs', { headers }), 'GET /audit-logs');
    expect(await stored()).toBe(before);
  });

  it('refuses a token it has accepted (and remembered: see JwtStrategy) from the second its exp names', async () => {
    const exp = now() + 2;
    const token = sign({ ...claimsOf(context.user.accessToken), exp }, TEST_SECRET, { algorithm: 'HS256' });
    const before = await http('/api/v1/auth/me', { token });
    expect(before.status).toBe(200);
    expect((await http('/api/v1/auth/me', { token })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 20));
    expectRefused(await http('/api/v1/auth/me', { token }), 'GET /auth/me after exp');
    expectRefused(
      await http('/api/v1/activities', { method: 'POST', token, body: { action: 'MUST_NOT_BE_STORED' } }),
      'POST /activities after exp',
    );
  });

  afterAll(() => {
    console.log(`hostile tokens: ${CASES.length} kinds of bad credential, each refused on 4 routes`);
  });
});
