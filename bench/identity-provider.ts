import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';

/**
 * A bare OpenID provider for the bench: a discovery document and a JWKS with one RS256 key (as most providers sign),
 * served on a port of this machine, and the tokens it signs. It counts the fetches, so a run can show that Logbook
 * verified every request without one once the key was known.
 */
export class BenchIdentityProvider {
  readonly audience = 'logbook-bench';
  fetches = 0;
  private readonly kid = randomUUID();
  private readonly keys = generateKeyPairSync('rsa', { modulusLength: 2048 });

  private constructor(
    private readonly server: Server,
    readonly issuer: string,
  ) {}

  static async start(): Promise<BenchIdentityProvider> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const provider = new BenchIdentityProvider(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (request, response) => {
      provider.fetches += 1;
      const body =
        request.url === '/.well-known/openid-configuration'
          ? { issuer: provider.issuer, jwks_uri: `${provider.issuer}/jwks` }
          : {
              keys: [
                { ...provider.keys.publicKey.export({ format: 'jwk' }), kid: provider.kid, alg: 'RS256', use: 'sig' },
              ],
            };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    return provider;
  }

  /** What a server needs to take this provider's tokens. */
  get settings(): Record<string, string> {
    return { OIDC_ISSUER: this.issuer, OIDC_AUDIENCE: this.audience };
  }

  /** An hour's access token for the person with this (verified) email. */
  token(email: string): Promise<string> {
    return new SignJWT({ email, email_verified: true })
      .setProtectedHeader({ alg: 'RS256', kid: this.kid })
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setSubject(`bench-${email}`)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(this.keys.privateKey);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
