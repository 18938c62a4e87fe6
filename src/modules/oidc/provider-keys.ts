import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

/** The identity provider's keys cannot be fetched and none that fits is known: a 503, to be tried again later. */
export class IdentityProviderUnavailable extends Error {
  constructor(
    readonly retryAfterSeconds: number,
    cause: unknown,
  ) {
    super(`the identity provider's keys cannot be fetched: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'IdentityProviderUnavailable';
  }
}

export interface ProviderKeysOptions {
  issuer: string;
  /** Unset: `jwks_uri` from `<issuer>/.well-known/openid-configuration`. */
  jwksUrl?: string;
  /** A token with an unknown `kid` fetches the keys again at most this often. */
  refetchCooldownMs?: number;
  /** Keys older than this are fetched again in the background (the old ones keep working meanwhile). */
  maxAgeMs?: number;
  /** With no key at all, a fetch is tried at most this often. */
  retryMs?: number;
  timeoutMs?: number;
}

type KeySet = ReturnType<typeof createLocalJWKSet>;

/**
 * The identity provider's signing keys (its JWKS), as jose's `getKey` for `jwtVerify`. jose's own remote set drops
 * nothing it fetched but also keeps nothing when a refresh fails and does not limit retries while the provider is
 * down, so the fetching policy is here and the choosing of a key (by `kid`, `alg`, `kty`, `use`) stays jose's:
 *
 * - keys are fetched on first need, then refreshed in the background once older than `maxAgeMs`;
 * - a token whose `kid` no known key has fetches them again, at most once per `refetchCooldownMs`;
 * - while fetching fails, known keys keep working; with none that fits: {@link IdentityProviderUnavailable}.
 */
export class ProviderKeys {
  private keys?: KeySet;
  private fetchedAt = -Infinity;
  private attemptedAt = -Infinity;
  private lastFailure?: unknown;
  private pending?: Promise<void>;
  private readonly listeners: (() => void)[] = [];
  private readonly refetchCooldownMs: number;
  private readonly maxAgeMs: number;
  private readonly retryMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly options: ProviderKeysOptions,
    private readonly onRefreshFailed: (error: unknown) => void = () => undefined,
  ) {
    this.refetchCooldownMs = options.refetchCooldownMs ?? 30_000;
    this.maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
    this.retryMs = options.retryMs ?? 1_000;
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** Called after a refresh brought a different set of keys (so what was verified with a dropped key can be forgotten). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    if (!this.keys) {
      await this.refresh(this.retryMs);
      if (!this.keys) throw this.unavailable(this.retryMs);
    } else if (this.since(this.fetchedAt) >= this.maxAgeMs) {
      // Known keys keep working while they are fetched again (tried again at most once per cooldown while that fails).
      void this.refresh(Math.min(this.maxAgeMs, this.refetchCooldownMs));
    }
    try {
      return await this.keys(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      await this.refresh(this.refetchCooldownMs);
      // Unknown even after the latest fetch: not the provider's key. Unknown while fetching fails: cannot tell.
      if (this.lastFailure === undefined) return this.keys(header, token);
      throw this.unavailable(this.refetchCooldownMs);
    }
  };

  /** Fetches the keys unless a fetch was tried within `interval`; concurrent callers share one fetch. */
  private async refresh(interval: number): Promise<void> {
    if (!this.pending && this.since(this.attemptedAt) >= interval) {
      this.attemptedAt = Date.now();
      this.pending = this.fetchKeys()
        .then((jwks) => this.adopt(jwks))
        .catch((error: unknown) => {
          this.lastFailure = error;
          this.onRefreshFailed(error);
        })
        .finally(() => (this.pending = undefined));
    }
    await this.pending;
  }

  private adopt(jwks: JSONWebKeySet): void {
    const changed = this.keys !== undefined && JSON.stringify(this.keys.jwks()) !== JSON.stringify(jwks);
    this.keys = createLocalJWKSet(jwks);
    this.fetchedAt = Date.now();
    this.lastFailure = undefined;
    if (changed) for (const listener of this.listeners) listener();
  }

  private async fetchKeys(): Promise<JSONWebKeySet> {
    const url = this.options.jwksUrl ?? (await this.discoverJwksUrl());
    const jwks = await this.fetchJson(url);
    if (!Array.isArray((jwks as { keys?: unknown }).keys)) throw new Error(`${url} is not a JSON Web Key Set`);
    return jwks as JSONWebKeySet;
  }

  private async discoverJwksUrl(): Promise<string> {
    const url = `${this.options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const document = (await this.fetchJson(url)) as { issuer?: unknown; jwks_uri?: unknown };
    // OpenID Connect Discovery 1.0, 4.3: the document must name the issuer it was asked for.
    if (document.issuer !== this.options.issuer) {
      throw new Error(`${url} names the issuer ${JSON.stringify(document.issuer)}, not ${this.options.issuer}`);
    }
    const jwksUri = document.jwks_uri;
    if (typeof jwksUri !== 'string' || !/^https?:\/\//.test(jwksUri)) throw new Error(`${url} has no jwks_uri`);
    return jwksUri;
  }

  /** One GET: 200 and JSON, within the timeout, and no redirect followed. */
  private async fetchJson(url: string): Promise<unknown> {
    const response = await fetch(url, {
      redirect: 'manual',
      signal: AbortSignal.timeout(this.timeoutMs),
      headers: { accept: 'application/json, application/jwk-set+json' },
    });
    if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
    const body: unknown = await response.json();
    if (!body || typeof body !== 'object') throw new Error(`${url} did not answer a JSON object`);
    return body;
  }

  private unavailable(retryMs: number): IdentityProviderUnavailable {
    const wait = Math.max(retryMs - this.since(this.attemptedAt), 1000);
    return new IdentityProviderUnavailable(Math.ceil(wait / 1000), this.lastFailure);
  }

  private since(time: number): number {
    return Date.now() - time;
  }
}
