import { createServer, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export type SigningAlgorithm = 'RS256' | 'PS256' | 'ES256' | 'EdDSA' | 'RS512';

export interface ProviderKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** As published in the JWKS. */
  jwk: JWK;
}

export interface TokenOptions {
  /** Claims to add or override (`undefined` removes one). */
  claims?: Record<string, unknown>;
  key?: ProviderKey;
  /** Header fields to add or override. */
  header?: Record<string, unknown>;
}

/**
 * An OpenID provider served over HTTP on a port of this machine: a discovery document, a JWKS of keys it generates,
 * and access tokens signed with them (by jose). It can be taken down (connections are cut) and brought back, and it
 * counts what was fetched from it.
 */
export class TestIdentityProvider {
  readonly hits = { discovery: 0, jwks: 0 };
  /** While true, every connection is cut before an answer, as if the provider were unreachable. */
  down = false;
  /** The JWKS answers this status instead of the keys (302 with a Location, say), when set. */
  jwksStatus?: number;
  readonly keys: ProviderKey[] = [];
  private published = new Set<string>();
  private issuerOverride?: string;

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
  ) {}

  static async start(): Promise<TestIdentityProvider> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const provider = new TestIdentityProvider(server, `http://127.0.0.1:${port}`);
    server.on('request', (request, response) => provider.answer(request.url ?? '/', response));
    return provider;
  }

  /** The issuer, as its tokens' `iss` and as OIDC_ISSUER. */
  get issuer(): string {
    return `${this.baseUrl}/realms/logbook`;
  }

  get jwksUrl(): string {
    return `${this.issuer}/protocol/openid-connect/certs`;
  }

  /** Makes the discovery document name another issuer than the one it is fetched for. */
  claimIssuer(issuer: string | undefined): void {
    this.issuerOverride = issuer;
  }

  /** A new signing key; published in the JWKS unless `publish` is false. */
  async addKey(alg: SigningAlgorithm = 'RS256', publish = true): Promise<ProviderKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const kid = randomUUID();
    const key = { kid, alg, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
    this.keys.push(key);
    if (publish) this.published.add(kid);
    return key;
  }

  /** The JWKS lists exactly these keys from now on. */
  publishOnly(...keys: ProviderKey[]): void {
    this.published = new Set(keys.map((key) => key.kid));
  }

  /**
   * An access token for `subject`, as Keycloak would issue one: this issuer, audience `logbook-api`, an email that
   * the provider verified, five minutes to live, signed with the first key unless another is named.
   */
  async token(subject: string, options: TokenOptions = {}): Promise<string> {
    const key = options.key ?? this.keys[0];
    const now = Math.floor(Date.now() / 1000);
    const claims: JWTPayload = {
      iss: this.issuer,
      aud: ['logbook-api', 'account'],
      sub: subject,
      iat: now,
      exp: now + 300,
      email: `${subject}@idp.example.com`,
      email_verified: true,
      name: `Person ${subject}`,
      ...options.claims,
    };
    for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
    return new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...options.header })
      .sign(key.privateKey);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private answer(url: string, response: ServerResponse): void {
    if (this.down) {
      response.socket?.destroy();
      return;
    }
    const path = new URL(url, this.baseUrl).pathname;
    if (path === new URL(`${this.issuer}/.well-known/openid-configuration`).pathname) {
      this.hits.discovery += 1;
      return this.json(response, 200, {
        issuer: this.issuerOverride ?? this.issuer,
        jwks_uri: this.jwksUrl,
        id_token_signing_alg_values_supported: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      });
    }
    if (path === new URL(this.jwksUrl).pathname) {
      this.hits.jwks += 1;
      if (this.jwksStatus !== undefined) {
        response.writeHead(this.jwksStatus, { location: `${this.baseUrl}/elsewhere` }).end();
        return;
      }
      return this.json(response, 200, {
        keys: this.keys.filter((key) => this.published.has(key.kid)).map((key) => key.jwk),
      });
    }
    this.json(response, 404, { error: 'not found' });
  }

  private json(response: ServerResponse, status: number, body: unknown): void {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
}
