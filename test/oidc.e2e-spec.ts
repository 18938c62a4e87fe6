import { createHmac, randomUUID } from 'node:crypto';
import { exportSPKI } from 'jose';
import { sign as signWithJsonwebtoken } from 'jsonwebtoken';
import { createPrivateKey } from 'node:crypto';
import { exportPKCS8 } from 'jose';
import { startTestApp, TestApp } from './helpers/app';
import { auditEntriesFor, createAdmin, createUser, sql, TestUser, uniqueEmail } from './helpers/factories';
import { http } from './helpers/http';
import { ProviderKey, TestIdentityProvider } from './helpers/identity-provider';

const API = '/api/v1';
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * This process's clock, which the service under test reads too, moved `seconds` ahead: the contract puts 30 s between
 * two fetches of the keys, and the tests move the clock rather than wait.
 */
const realNow = Date.now;
let clockOffsetMs = 0;
const advanceClock = (seconds: number) => (clockOffsetMs += seconds * 1000);

/** What a person, or an attacker, can send. Every token here is checked by the service against the provider's JWKS. */
describe('access tokens from the identity provider', () => {
  let idp: TestIdentityProvider;
  let logbook: TestApp;
  let key: ProviderKey;
  /** Keys of every allowed algorithm, and one of an asymmetric algorithm that is not allowed: all published. */
  const keys: Record<string, ProviderKey> = {};
  const get = (path: string, token: string) => http(`${API}${path}`, { token }, logbook.baseUrl);
  const me = (token: string) => get('/auth/me', token);
  const subject = () => `person-${randomUUID()}`;

  /** Nothing of a refused token's person was stored: no user, no link. */
  async function expectNothingStoredFor(sub: string): Promise<void> {
    const [{ count }] = await sql(`SELECT count(*)::int AS count FROM user_identities WHERE subject = $1`, [sub]);
    const users = await sql(`SELECT id FROM users WHERE email = $1`, [`${sub}@idp.example.com`]);
    expect([count, users.length]).toEqual([0, 0]);
  }

  async function expectRefused(token: string, sub: string): Promise<void> {
    const res = await me(token);
    expect([res.status, res.body.success, res.body.error?.code]).toEqual([401, false, 'HTTP_401']);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    await expectNothingStoredFor(sub);
  }

  beforeAll(async () => {
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() + clockOffsetMs);
    idp = await TestIdentityProvider.start();
    key = await idp.addKey('RS256');
    for (const alg of ['PS256', 'ES256', 'EdDSA', 'RS512'] as const) keys[alg] = await idp.addKey(alg);
    logbook = await startTestApp({
      LOG_LEVEL: 'silent',
      OIDC_ISSUER: idp.issuer,
      OIDC_AUDIENCE: 'logbook-api',
      OIDC_ROLE_CLAIM: 'realm_access.roles',
      OIDC_ROLE_MAP: 'admin=ADMIN,teacher=INSTRUCTOR',
    });
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await logbook?.close();
    await idp?.close();
  });

  it('create their user on first sight (audited), then act as that user, with no network call once the key is known', async () => {
    const sub = subject();
    const token = await idp.token(sub, {
      claims: { name: '  Ada Lovelace ', email: `${sub.toUpperCase()}@IdP.example.com` },
    });
    const first = await me(token);
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({
      email: `${sub}@idp.example.com`,
      name: 'Ada Lovelace',
      role: 'PARTICIPANT',
    });
    const id = first.body.data.id;
    expect(await sql('SELECT issuer, subject, user_id FROM user_identities WHERE subject = $1', [sub])).toEqual([
      { issuer: idp.issuer, subject: sub, user_id: String(id) },
    ]);
    const [created] = await auditEntriesFor('User', id);
    expect(created).toMatchObject({ action: 'CREATE', user_id: String(id), username: `${sub}@idp.example.com` });
    expect(created.new_values).toEqual({
      email: `${sub}@idp.example.com`,
      name: 'Ada Lovelace',
      role: 'PARTICIPANT',
      identity: { issuer: idp.issuer, subject: sub },
    });

    const recorded = await http(
      `${API}/activities`,
      { method: 'POST', token, body: { action: 'VIEW_COURSE' } },
      logbook.baseUrl,
    );
    expect(recorded.status).toBe(201);
    expect(recorded.body.data.user).toBe(id);

    // A second token of the same person (a refresh at the provider) is the same user, and nothing is fetched again.
    const hits = { ...idp.hits };
    const again = await me(await idp.token(sub));
    expect(again.body.data.id).toBe(id);
    for (let i = 0; i < 20; i += 1) expect((await me(token)).status).toBe(200);
    expect(idp.hits).toEqual(hits);
    expect(await auditEntriesFor('User', id)).toHaveLength(1);
  });

  it('take every allowed algorithm (RS256, PS256, ES256, EdDSA), also from a token another library signed', async () => {
    for (const alg of ['PS256', 'ES256', 'EdDSA'] as const) {
      const res = await me(await idp.token(subject(), { key: keys[alg] }));
      expect([alg, res.status]).toEqual([alg, 200]);
    }
    // jsonwebtoken, not jose, signs this one: verification follows the standard, not one library's habits.
    const sub = subject();
    const pem = createPrivateKey(await exportPKCS8(key.privateKey));
    const token = signWithJsonwebtoken({ sub, email: `${sub}@idp.example.com`, email_verified: true }, pem, {
      algorithm: 'RS256',
      keyid: key.kid,
      issuer: idp.issuer,
      audience: 'logbook-api',
      expiresIn: 60,
    });
    expect((await me(token)).status).toBe(200);
  });

  it('refuse alg none, an HMAC signed with the public key, and an asymmetric algorithm not on the list, without a fetch', async () => {
    const sub = subject();
    const claims = {
      iss: idp.issuer,
      aud: 'logbook-api',
      sub,
      email: `${sub}@idp.example.com`,
      email_verified: true,
      exp: now() + 300,
    };
    const hits = { ...idp.hits };
    await expectRefused(`${b64({ alg: 'none', typ: 'JWT', kid: key.kid })}.${b64(claims)}.`, sub);
    await expectRefused(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`, sub);
    // The classic confusion: HS256 with the provider's public key (as PEM, as anyone can download it) for the secret.
    const publicPem = await exportSPKI(key.publicKey);
    const signingInput = `${b64({ alg: 'HS256', typ: 'JWT', kid: key.kid })}.${b64(claims)}`;
    for (const secret of [publicPem, publicPem.trim(), JSON.stringify(key.jwk)]) {
      const mac = createHmac('sha256', secret).update(signingInput).digest('base64url');
      await expectRefused(`${signingInput}.${mac}`, sub);
    }
    expect(idp.hits).toEqual(hits);
    await expectRefused(await idp.token(sub, { key: keys.RS512 }), sub);
  });

  it('refuse a foreign issuer, a wrong audience, expiry and nbf past the 30 s of skew, a missing exp, a bad signature', async () => {
    const sub = subject();
    await expectRefused(await idp.token(sub, { claims: { iss: 'https://evil.example.com/realms/logbook' } }), sub);
    await expectRefused(await idp.token(sub, { claims: { aud: 'another-api' } }), sub);
    await expectRefused(await idp.token(sub, { claims: { aud: undefined } }), sub);
    await expectRefused(await idp.token(sub, { claims: { exp: now() - 45 } }), sub);
    await expectRefused(await idp.token(sub, { claims: { exp: undefined } }), sub);
    await expectRefused(await idp.token(sub, { claims: { nbf: now() + 60 } }), sub);
    await expectRefused(await idp.token(sub, { claims: { sub: undefined, email: `${sub}@idp.example.com` } }), sub);
    const good = await idp.token(sub);
    const [header, payload, signature] = good.split('.');
    const forgedPayload = b64({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: `${sub}x` });
    await expectRefused(`${header}.${forgedPayload}.${signature}`, sub);
    await expectRefused(`${header}.${payload}.${signature.slice(0, -4)}AAAA`, sub);
    // A key nobody published, though it claims a published key's kid.
    const impostor = await idp.addKey('RS256', false);
    await expectRefused(await idp.token(sub, { key: { ...impostor, kid: key.kid } }), sub);

    // Within the skew, both ways: accepted.
    expect((await me(await idp.token(subject(), { claims: { exp: now() - 10 } }))).status).toBe(200);
    expect((await me(await idp.token(subject(), { claims: { nbf: now() + 10 } }))).status).toBe(200);
  });

  it('follow a rotation: a new kid is fetched again, at most once every 30 seconds', async () => {
    const rotated = await idp.addKey('ES256');
    const before = idp.hits.jwks;
    // The keys were fetched moments ago: a kid they lack is refused, and not fetched for.
    const early = subject();
    await expectRefused(await idp.token(early, { key: rotated }), early);
    expect(idp.hits.jwks).toBe(before);
    advanceClock(31);
    expect((await me(await idp.token(subject(), { key: rotated }))).status).toBe(200);
    expect(idp.hits.jwks).toBe(before + 1);
    // A kid the provider never published: refused, and refused again without another fetch.
    const stranger = await idp.addKey('ES256', false);
    const sub = subject();
    await expectRefused(await idp.token(sub, { key: stranger }), sub);
    await expectRefused(await idp.token(sub, { key: stranger }), sub);
    expect(idp.hits.jwks).toBe(before + 1);
  });

  it('keep working with the cached keys while the provider is down', async () => {
    idp.down = true;
    try {
      for (const signer of [key, keys.ES256, keys.EdDSA]) {
        expect((await me(await idp.token(subject(), { key: signer }))).status).toBe(200);
      }
      // A key it would have to fetch: Logbook cannot tell, so 503 rather than 401.
      advanceClock(31);
      const unfetchable = await idp.addKey('RS256');
      const res = await me(await idp.token(subject(), { key: unfetchable }));
      expect([res.status, res.body.error.code]).toEqual([503, 'HTTP_503']);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await me(await idp.token(subject()))).status).toBe(200);
    } finally {
      idp.down = false;
    }
  });

  it('refuse a missing email, and an unverified email that an account already has; link a verified one (audited)', async () => {
    const noEmail = subject();
    await expectRefused(await idp.token(noEmail, { claims: { email: undefined } }), noEmail);
    const bad = subject();
    await expectRefused(await idp.token(bad, { claims: { email: 'not an email' } }), bad);

    const local = await createUser({ email: uniqueEmail('local') }, logbook.baseUrl);
    const sub = subject();
    for (const verified of [false, undefined, 'true']) {
      const res = await me(await idp.token(sub, { claims: { email: local.email, email_verified: verified } }));
      expect([verified, res.status]).toEqual([verified, 401]);
    }
    expect(await sql('SELECT * FROM user_identities WHERE subject = $1', [sub])).toEqual([]);

    const linked = await me(await idp.token(sub, { claims: { email: local.email.toUpperCase() } }));
    expect(linked.status).toBe(200);
    expect(linked.body.data).toMatchObject({ id: local.id, email: local.email, name: local.name });
    const entries = await auditEntriesFor('User', local.id);
    expect(entries.at(-1)).toMatchObject({
      action: 'UPDATE',
      old_values: { identity: null },
      new_values: { identity: { issuer: idp.issuer, subject: sub } },
    });
    // The account keeps its password and its own logins.
    expect((await http(`${API}/auth/me`, { token: local.accessToken }, logbook.baseUrl)).status).toBe(200);
  });

  it('make one user of many first requests at once', async () => {
    const sub = subject();
    const tokens = await Promise.all(
      Array.from({ length: 8 }, () => idp.token(sub, { claims: { jti: randomUUID() } })),
    );
    const answers = await Promise.all(tokens.map(me));
    expect(answers.map((res) => res.status)).toEqual(Array(8).fill(200));
    expect(new Set(answers.map((res) => res.body.data.id)).size).toBe(1);
    expect(await auditEntriesFor('User', answers[0].body.data.id)).toHaveLength(1);
  });

  it('give a deleted user 401, at once', async () => {
    const admin = await createAdmin(logbook.baseUrl);
    const sub = subject();
    const token = await idp.token(sub);
    const { id } = (await me(token)).body.data;
    const deleted = await http(`${API}/users/${id}`, { method: 'DELETE', token: admin.accessToken }, logbook.baseUrl);
    expect(deleted.status).toBe(200);
    expect((await me(token)).status).toBe(401);
    expect((await me(await idp.token(sub))).status).toBe(401);
  });

  it('take the role from the mapped claim, follow its changes (audited), and never sign out or in', async () => {
    const sub = subject();
    const as = (roles: string[] | undefined) => idp.token(sub, { claims: { realm_access: roles && { roles } } });
    const teacher = await me(await as(['offline_access', 'teacher']));
    expect(teacher.body.data.role).toBe('INSTRUCTOR');
    const id = teacher.body.data.id;
    expect((await auditEntriesFor('User', id))[0].new_values.role).toBe('INSTRUCTOR');

    const adminToken = await as(['teacher', 'admin']);
    expect((await me(adminToken)).body.data.role).toBe('ADMIN');
    expect((await get('/audit-logs?limit=1', adminToken)).status).toBe(200);
    expect((await auditEntriesFor('User', id)).at(-1)).toMatchObject({
      action: 'UPDATE',
      user_id: String(id),
      old_values: { role: 'INSTRUCTOR' },
      new_values: { role: 'ADMIN' },
    });

    const plain = await as(undefined);
    expect((await me(plain)).body.data.role).toBe('PARTICIPANT');
    expect((await get('/audit-logs?limit=1', plain)).status).toBe(403);
    expect(await auditEntriesFor('User', id)).toHaveLength(3);

    // There is no Logbook login behind such a token: nothing to sign out of.
    const logout = await http(`${API}/auth/logout`, { method: 'POST', token: plain }, logbook.baseUrl);
    expect(logout.status).toBe(403);
  });

  it("leave Logbook's own tokens and keys working", async () => {
    const user = await createUser({}, logbook.baseUrl);
    expect((await http(`${API}/auth/me`, { token: user.accessToken }, logbook.baseUrl)).body.data.id).toBe(user.id);
    const created = await http(
      `${API}/api-keys`,
      { method: 'POST', token: user.accessToken, body: { name: 'svc', scopes: ['activities:read'] } },
      logbook.baseUrl,
    );
    const listed = await http(
      `${API}/activities`,
      { headers: { 'x-api-key': created.body.data.key } },
      logbook.baseUrl,
    );
    expect(listed.status).toBe(200);
  });

  it('are refused by a Logbook that has no identity provider set', async () => {
    expect((await http(`${API}/auth/me`, { token: await idp.token(subject()) })).status).toBe(401);
  });
});

/** A namespaced email claim, as Auth0 puts one in access tokens. */
const EMAIL_CLAIM = 'https://logbook.example.com/email';

describe('an identity provider whose keys Logbook does not have yet, with a namespaced email claim', () => {
  let idp: TestIdentityProvider;
  let logbook: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    idp = await TestIdentityProvider.start();
    await idp.addKey('ES256');
    idp.down = true;
    logbook = await startTestApp({
      LOG_LEVEL: 'silent',
      OIDC_ISSUER: idp.issuer,
      OIDC_AUDIENCE: 'logbook-api',
      OIDC_JWKS_URL: idp.jwksUrl,
      OIDC_EMAIL_CLAIM: EMAIL_CLAIM,
    });
    admin = await createAdmin(logbook.baseUrl);
  });
  afterAll(async () => {
    await logbook?.close();
    await idp?.close();
  });

  /** A token with the email in the namespaced claim only. */
  const tokenFor = (sub: string, claims: Record<string, unknown> = {}) =>
    idp.token(sub, {
      claims: { email: undefined, email_verified: undefined, [EMAIL_CLAIM]: `${sub}@idp.example.com`, ...claims },
    });

  it('answers 503 with Retry-After while they cannot be fetched, and works once they can', async () => {
    const token = await tokenFor(subject());
    const refused = await http(`${API}/auth/me`, { token }, logbook.baseUrl);
    expect([refused.status, refused.body.error?.code]).toEqual([503, 'HTTP_503']);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Logbook's own tokens do not depend on the provider.
    expect((await http(`${API}/auth/me`, { token: admin.accessToken }, logbook.baseUrl)).status).toBe(200);
    idp.down = false;
    await sleep(Number(refused.headers.get('retry-after')) * 1000);
    const res = await http(`${API}/auth/me`, { token }, logbook.baseUrl);
    expect(res.status).toBe(200);
    expect(idp.hits.discovery).toBe(0);
  });

  it("keeps roles Logbook's own when no role claim is set", async () => {
    const sub = subject();
    const token = await tokenFor(sub, { realm_access: { roles: ['admin'] }, roles: ['admin'] });
    const first = await http(`${API}/auth/me`, { token }, logbook.baseUrl);
    expect(first.body.data.role).toBe('PARTICIPANT');
    const patched = await http(
      `${API}/users/${first.body.data.id}`,
      { method: 'PATCH', token: admin.accessToken, body: { role: 'INSTRUCTOR' } },
      logbook.baseUrl,
    );
    expect(patched.status).toBe(200);
    expect((await http(`${API}/auth/me`, { token }, logbook.baseUrl)).body.data.role).toBe('INSTRUCTOR');
  });

  it('reads the email from the configured claim, and its verified flag from beside it', async () => {
    const plain = await http(`${API}/auth/me`, { token: await idp.token(subject()) }, logbook.baseUrl);
    expect(plain.status).toBe(401);
    const local = await createUser({ email: uniqueEmail('local') }, logbook.baseUrl);
    const sub = subject();
    const claims = { [EMAIL_CLAIM]: local.email };
    const unverified = await tokenFor(sub, { ...claims, email_verified: true, [`${EMAIL_CLAIM}_verified`]: false });
    expect((await http(`${API}/auth/me`, { token: unverified }, logbook.baseUrl)).status).toBe(401);
    const verified = await tokenFor(sub, { ...claims, [`${EMAIL_CLAIM}_verified`]: true });
    const linked = await http(`${API}/auth/me`, { token: verified }, logbook.baseUrl);
    expect([linked.status, linked.body.data?.id]).toEqual([200, local.id]);
  });

  function subject(): string {
    return `person-${randomUUID()}`;
  }
});
