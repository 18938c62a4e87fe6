import { errors, jwtVerify } from 'jose';
import { TestIdentityProvider } from '../../../test/helpers/identity-provider';
import { IdentityProviderUnavailable, ProviderKeys, ProviderKeysOptions } from './provider-keys';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ProviderKeys (against an identity provider served over HTTP)', () => {
  let idp: TestIdentityProvider;

  beforeEach(async () => {
    idp = await TestIdentityProvider.start();
    await idp.addKey('RS256');
  });
  afterEach(() => idp.close());

  const keysFor = (options: Partial<ProviderKeysOptions> = {}) =>
    new ProviderKeys({ issuer: idp.issuer, refetchCooldownMs: 300, maxAgeMs: 60_000, retryMs: 200, ...options });
  const verify = (keys: ProviderKeys, token: string) => jwtVerify(token, keys.getKey);

  it('finds the JWKS through discovery, fetches it once, and verifies from memory after that', async () => {
    const keys = keysFor();
    for (let i = 0; i < 5; i += 1) await verify(keys, await idp.token(`s${i}`));
    expect(idp.hits).toEqual({ discovery: 1, jwks: 1 });
  });

  it('takes OIDC_JWKS_URL as it is, without discovery', async () => {
    const keys = keysFor({ jwksUrl: idp.jwksUrl });
    await verify(keys, await idp.token('s'));
    expect(idp.hits).toEqual({ discovery: 0, jwks: 1 });
  });

  it('refuses a discovery document that names another issuer, and a redirect to the keys', async () => {
    idp.claimIssuer('https://evil.example.com');
    await expect(verify(keysFor(), await idp.token('s'))).rejects.toBeInstanceOf(IdentityProviderUnavailable);
    expect(idp.hits.jwks).toBe(0);
    idp.claimIssuer(undefined);
    idp.jwksStatus = 302;
    await expect(verify(keysFor(), await idp.token('s'))).rejects.toBeInstanceOf(IdentityProviderUnavailable);
  });

  it('fetches again for an unknown kid, at most once per cooldown', async () => {
    const keys = keysFor();
    await verify(keys, await idp.token('s'));
    const rotated = await idp.addKey('ES256');
    await sleep(350);
    await expect(verify(keys, await idp.token('s', { key: rotated }))).resolves.toBeTruthy();
    expect(idp.hits.jwks).toBe(2);

    // A kid nobody published: within the cooldown, no fetch, and the token is not the provider's.
    const stranger = await idp.addKey('ES256', false);
    for (let i = 0; i < 3; i += 1) {
      await expect(verify(keys, await idp.token('s', { key: stranger }))).rejects.toBeInstanceOf(
        errors.JWKSNoMatchingKey,
      );
    }
    expect(idp.hits.jwks).toBe(2);
    await sleep(350);
    await expect(verify(keys, await idp.token('s', { key: stranger }))).rejects.toBeInstanceOf(
      errors.JWKSNoMatchingKey,
    );
    expect(idp.hits.jwks).toBe(3);
  });

  it('keeps verifying with cached keys while the provider is down; a key it cannot fetch is a 503, not a 401', async () => {
    const keys = keysFor();
    await verify(keys, await idp.token('s'));
    idp.down = true;
    await expect(verify(keys, await idp.token('other'))).resolves.toBeTruthy();
    const rotated = await idp.addKey('RS256');
    await sleep(350);
    const unavailable = await verify(keys, await idp.token('s', { key: rotated })).catch((error: unknown) => error);
    expect(unavailable).toBeInstanceOf(IdentityProviderUnavailable);
    expect((unavailable as IdentityProviderUnavailable).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // Still in the cooldown after the failure: cannot tell either, and no fetch.
    const jwksHits = idp.hits.jwks;
    await expect(verify(keys, await idp.token('s', { key: rotated }))).rejects.toBeInstanceOf(
      IdentityProviderUnavailable,
    );
    expect(idp.hits.jwks).toBe(jwksHits);
    await expect(verify(keys, await idp.token('s'))).resolves.toBeTruthy();

    idp.down = false;
    await sleep(350);
    await expect(verify(keys, await idp.token('s', { key: rotated }))).resolves.toBeTruthy();
  });

  it('with no key at all: unavailable, retried at most once per retry interval, then working once the provider is back', async () => {
    idp.down = true;
    const keys = keysFor({ jwksUrl: idp.jwksUrl });
    const token = await idp.token('s');
    await expect(verify(keys, token)).rejects.toBeInstanceOf(IdentityProviderUnavailable);
    idp.down = false;
    await expect(verify(keys, token)).rejects.toBeInstanceOf(IdentityProviderUnavailable);
    expect(idp.hits.jwks).toBe(0);
    await sleep(250);
    await expect(verify(keys, token)).resolves.toBeTruthy();
    expect(idp.hits.jwks).toBe(1);
  });

  it('refreshes old keys in the background: a withdrawn key stops verifying, and listeners hear of the change', async () => {
    const keys = keysFor({ maxAgeMs: 200 });
    const changes: number[] = [];
    keys.onChange(() => changes.push(Date.now()));
    const [first] = idp.keys;
    await verify(keys, await idp.token('s'));
    const second = await idp.addKey('EdDSA');
    idp.publishOnly(second);
    await sleep(250);
    // This request still finds the old key (the refresh it starts runs beside it) ...
    await expect(verify(keys, await idp.token('s', { key: first }))).resolves.toBeTruthy();
    await sleep(50);
    expect(changes).toHaveLength(1);
    // ... and the next one does not.
    await expect(verify(keys, await idp.token('s', { key: first }))).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    await expect(verify(keys, await idp.token('s', { key: second }))).resolves.toBeTruthy();

    // Old again while the provider is down: the keys it had keep working.
    idp.down = true;
    await sleep(250);
    await expect(verify(keys, await idp.token('s', { key: second }))).resolves.toBeTruthy();
    await sleep(50);
    await expect(verify(keys, await idp.token('t', { key: second }))).resolves.toBeTruthy();
  });
});
