import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { Role, ROLES } from '../common/auth/auth-user';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const NODE_ENVS = ['development', 'production', 'test'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];

/** Every setting of the service, typed. Built once at boot by {@link loadSettings}; see .env.example. */
export class Settings {
  nodeEnv: NodeEnv;
  port: number;
  host: string;
  /** Unset: an embedded PostgreSQL is started under {@link embeddedPgDir}. */
  databaseUrl?: string;
  /** Streaming replicas of {@link databaseUrl} that may answer reads (see src/database/read-replicas.ts); empty: none. */
  databaseReplicaUrls: string[];
  databasePoolSize: number;
  /**
   * Where migrations run, when DATABASE_URL goes through a pooler in transaction mode (migrations hold a
   * session-level advisory lock). Unset: DATABASE_URL.
   */
  databaseMigrationsUrl?: string;
  embeddedPgDir: string;
  /** Unset: the cache lives in process memory. */
  redisUrl?: string;
  jwtSecret?: string;
  jwtAccessTtlSeconds: number;
  jwtRefreshTtlSeconds: number;
  cacheTtlSeconds: number;
  allowRegistration: boolean;
  /** Failed sign-ins for one email, and from one client address, within the window, after which sign-in is locked (429). */
  loginMaxFailuresPerEmail: number;
  loginMaxFailuresPerAddress: number;
  loginThrottleWindowSeconds: number;
  /** As Fastify's `trustProxy`: false, true, a hop count, or a list of addresses/CIDRs. */
  trustProxy: boolean | number | string[];
  logLevel: LogLevel;
  bodyLimitBytes: number;
  shutdownTimeoutMs: number;
  /** Requests one client address may make per {@link rateLimitWindowSeconds} (all instances together with Redis); 0: off. */
  rateLimitMax: number;
  rateLimitWindowSeconds: number;
  /** Origins allowed to call the API from a browser (CORS); empty: none. `*`: any (never with credentials). */
  corsOrigins: string[];
  /**
   * This deployment's identity, read from its database at start-up (not a setting): it prefixes every Redis key.
   * Empty until then.
   */
  deploymentId: string;
  /** Requests in progress at once; past it, 429 with Retry-After before any work. 0: no limit. */
  concurrencyLimit: number;
  /** The ledger's Ed25519 signing key (PKCS#8 PEM). Unset outside production: generated once and kept under .data/. */
  ledgerSigningKey?: string;
  /** The ledger's name in its checkpoints. Unset: `logbook/` and the first 16 hex digits of {@link deploymentId}. */
  ledgerOrigin?: string;
  /** How often each instance looks for records to add to the ledger. */
  ledgerIntegrateIntervalMs: number;
  /** How long integration may wait for a busy instance (0: never waits). */
  ledgerMaxDeferMs: number;
  /** Access tokens from the team's identity provider; unset (no OIDC_ISSUER): only Logbook's own credentials. */
  oidc?: OidcSettings;
  /** The waits before each new attempt of a webhook delivery that failed, in seconds; after the last: given up. */
  webhookRetryScheduleSeconds: number[];
  /** An endpoint failing every delivery for this long is disabled. */
  webhookDisableAfterSeconds: number;
  /** Whether webhook endpoints may be loopback, private or link-local addresses. */
  webhookAllowPrivate: boolean;
  /** How long dispatching webhook events may be put off, at most, while requests keep the instance busy (0: never). */
  webhookMaxDeferMs: number;
  /** How long webhook events and their attempts are kept (what a replay can send again), in seconds. */
  webhookEventRetentionSeconds: number;
}

/** The identity provider whose access tokens Logbook accepts (OIDC_* settings). */
export interface OidcSettings {
  /** Exactly as the tokens' `iss`. */
  issuer: string;
  /** The tokens' `aud` must contain it. */
  audience: string;
  /** Unset: `jwks_uri` of the issuer's discovery document. */
  jwksUrl?: string;
  emailClaim: string;
  nameClaim: string;
  /** Unset: roles are Logbook's own. A name with dots that no claim has is read as a path (`realm_access.roles`). */
  roleClaim?: string;
  /** Claim value → role; a user with none of these values is a PARTICIPANT. */
  roleMap: Record<string, Role>;
}

export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid settings:\n  - ${problems.join('\n  - ')}`);
    this.name = 'SettingsError';
  }
}

type Env = Record<string, string | undefined>;

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2 };
const POSTGRES_PROTOCOLS = ['postgres:', 'postgresql:'];
const HTTP_PROTOCOLS = ['https:', 'http:'];

/** Reads the settings from `env`, with `.env` (in `cwd`) filling what `env` lacks. Throws a {@link SettingsError} naming every bad value. */
export function loadSettings(env: Env, options: { cwd?: string; envFile?: string | false } = {}): Settings {
  const cwd = options.cwd ?? process.cwd();
  const file = options.envFile === false ? undefined : resolve(cwd, options.envFile ?? '.env');
  const fromFile = file && existsSync(file) ? parseDotenv(readFileSync(file)) : {};
  const source: Env = { ...fromFile, ...env };
  const problems: string[] = [];
  const read = new Reader(source, problems);

  const settings: Settings = {
    nodeEnv: read.oneOf('NODE_ENV', NODE_ENVS, 'development'),
    port: read.integer('PORT', 3000, 0, 65535),
    host: read.string('HOST') ?? '0.0.0.0',
    databaseUrl: read.url('DATABASE_URL', POSTGRES_PROTOCOLS),
    databaseReplicaUrls: read.urls('DATABASE_REPLICA_URLS', POSTGRES_PROTOCOLS),
    databasePoolSize: read.integer('DATABASE_POOL_SIZE', 10, 1, 500),
    databaseMigrationsUrl: read.url('DATABASE_MIGRATIONS_URL', ['postgres:', 'postgresql:']),
    embeddedPgDir: resolve(cwd, read.string('EMBEDDED_PG_DIR') ?? '.data/pg'),
    redisUrl: read.url('REDIS_URL', ['redis:', 'rediss:']),
    jwtSecret: read.string('JWT_SECRET'),
    jwtAccessTtlSeconds: read.duration('JWT_ACCESS_TTL', '15m'),
    jwtRefreshTtlSeconds: read.duration('JWT_REFRESH_TTL', '7d'),
    cacheTtlSeconds: read.integer('CACHE_TTL_SECONDS', 60, 1, 86400),
    allowRegistration: read.boolean('ALLOW_REGISTRATION', true),
    loginMaxFailuresPerEmail: read.integer('LOGIN_MAX_FAILURES_PER_EMAIL', 10, 1, 1_000_000),
    loginMaxFailuresPerAddress: read.integer('LOGIN_MAX_FAILURES_PER_ADDRESS', 100, 1, 1_000_000),
    loginThrottleWindowSeconds: read.duration('LOGIN_THROTTLE_WINDOW', '15m'),
    trustProxy: read.trustProxy('TRUST_PROXY'),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    bodyLimitBytes: read.size('BODY_LIMIT', '4mb'),
    shutdownTimeoutMs: read.integer('SHUTDOWN_TIMEOUT_MS', 10000, 100, 600000),
    rateLimitMax: read.integer('RATE_LIMIT_MAX', 6000, 0, 100_000_000),
    rateLimitWindowSeconds: read.duration('RATE_LIMIT_WINDOW', '1m'),
    corsOrigins: read.origins('CORS_ORIGINS'),
    deploymentId: '',
    concurrencyLimit: read.integer('CONCURRENCY_LIMIT', 100, 0, 1_000_000),
    ledgerSigningKey: read.string('LEDGER_SIGNING_KEY')?.replace(/\\n/g, '\n').trim(),
    ledgerOrigin: read.string('LEDGER_ORIGIN'),
    ledgerIntegrateIntervalMs: read.integer('LEDGER_INTEGRATE_INTERVAL_MS', 1000, 10, 60000),
    ledgerMaxDeferMs: read.integer('LEDGER_MAX_DEFER_MS', 10000, 0, 600000),
    oidc: readOidc(read, problems),
    webhookRetryScheduleSeconds: read.durations('WEBHOOK_RETRY_SCHEDULE', '5s,5m,30m,2h,5h,10h,10h'),
    webhookDisableAfterSeconds: read.duration('WEBHOOK_DISABLE_AFTER', '5d'),
    webhookAllowPrivate: read.boolean('WEBHOOK_ALLOW_PRIVATE', false),
    webhookMaxDeferMs: read.integer('WEBHOOK_MAX_DEFER_MS', 10000, 0, 600000),
    webhookEventRetentionSeconds: read.duration('WEBHOOK_EVENT_RETENTION', '30d'),
  };
  if (settings.nodeEnv === 'production' && !settings.jwtSecret) {
    problems.push('JWT_SECRET is required when NODE_ENV=production');
  }
  if (settings.databaseReplicaUrls.length && !settings.databaseUrl) {
    problems.push('DATABASE_REPLICA_URLS needs DATABASE_URL (the primary the replicas follow)');
  }
  if (settings.databaseUrl && settings.databaseReplicaUrls.includes(settings.databaseUrl)) {
    problems.push('DATABASE_REPLICA_URLS must not list DATABASE_URL itself');
  }
  if (settings.nodeEnv === 'production' && !settings.ledgerSigningKey) {
    problems.push('LEDGER_SIGNING_KEY is required when NODE_ENV=production');
  }
  if (settings.ledgerSigningKey !== undefined && !isEd25519PrivateKey(settings.ledgerSigningKey)) {
    problems.push(
      'LEDGER_SIGNING_KEY must be an Ed25519 private key in PKCS#8 PEM (openssl genpkey -algorithm ed25519)',
    );
  }
  if (settings.ledgerOrigin !== undefined && !/^[^\s+]{1,200}$/.test(settings.ledgerOrigin)) {
    problems.push('LEDGER_ORIGIN must be 1 to 200 characters without spaces or "+"');
  }
  if (settings.jwtSecret !== undefined && Buffer.byteLength(settings.jwtSecret) < 32) {
    problems.push('JWT_SECRET must be at least 32 bytes long');
  }
  if (settings.nodeEnv === 'production' && settings.oidc) {
    for (const [name, url] of [
      ['OIDC_ISSUER', settings.oidc.issuer],
      ['OIDC_JWKS_URL', settings.oidc.jwksUrl],
    ] as const) {
      if (url && !isSecureUrl(url)) problems.push(`${name} must use https when NODE_ENV=production (or be loopback)`);
    }
  }
  const retrying = settings.webhookRetryScheduleSeconds.reduce((total, step) => total + step, 0);
  if (settings.webhookEventRetentionSeconds <= retrying) {
    problems.push('WEBHOOK_EVENT_RETENTION must be longer than WEBHOOK_RETRY_SCHEDULE takes in all');
  }
  if (problems.length) throw new SettingsError(problems);
  return settings;
}

function readOidc(read: Reader, problems: string[]): OidcSettings | undefined {
  const issuer = read.url('OIDC_ISSUER', HTTP_PROTOCOLS, { show: true });
  const rest = ['OIDC_AUDIENCE', 'OIDC_JWKS_URL', 'OIDC_ROLE_CLAIM', 'OIDC_ROLE_MAP'].filter((name) =>
    read.string(name),
  );
  if (!issuer) {
    if (rest.length && !read.string('OIDC_ISSUER')) problems.push(`${rest.join(', ')} need OIDC_ISSUER`);
    return undefined;
  }
  const audience = read.string('OIDC_AUDIENCE');
  if (!audience) problems.push("OIDC_AUDIENCE is required with OIDC_ISSUER (the token's aud must contain it)");
  const roleClaim = read.string('OIDC_ROLE_CLAIM');
  const roleMap = read.roleMap('OIDC_ROLE_MAP');
  if (Object.keys(roleMap).length && !roleClaim) problems.push('OIDC_ROLE_MAP needs OIDC_ROLE_CLAIM');
  return {
    issuer,
    audience: audience ?? '',
    jwksUrl: read.url('OIDC_JWKS_URL', HTTP_PROTOCOLS, { show: true }),
    emailClaim: read.string('OIDC_EMAIL_CLAIM') ?? 'email',
    nameClaim: read.string('OIDC_NAME_CLAIM') ?? 'name',
    roleClaim,
    roleMap,
  };
}

/** https, or plain http to this machine only: keys fetched in the clear from elsewhere could be anyone's. */
function isSecureUrl(raw: string): boolean {
  const url = new URL(raw);
  return url.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

function isEd25519PrivateKey(pem: string): boolean {
  try {
    return createPrivateKey({ key: pem, format: 'pem' }).asymmetricKeyType === 'ed25519';
  } catch {
    return false;
  }
}

class Reader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  string(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value ? value : undefined;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      return this.fail(name, raw, `an integer from ${min} to ${max}`, fallback);
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.string(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    return this.fail(name, raw, 'true or false', fallback);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    return this.fail(name, raw, `one of ${allowed.join(', ')}`, fallback);
  }

  /** A URL; its value is not repeated in the error unless `show` (a database URL may hold a password). */
  url(name: string, protocols: string[], options: { show?: boolean } = {}): string | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    try {
      if (protocols.includes(new URL(raw).protocol)) return raw;
    } catch {
      // reported below
    }
    const expected = `a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`;
    return this.fail(name, options.show ? raw : '<hidden>', expected, undefined);
  }

  /** `admin=ADMIN,teacher=INSTRUCTOR`: claim values and the roles they give. */
  roleMap(name: string): Record<string, Role> {
    const raw = this.string(name);
    if (raw === undefined) return {};
    const map: Record<string, Role> = {};
    for (const entry of raw.split(',')) {
      const [value, role, extra] = entry.split('=').map((part) => part.trim());
      if (!value || extra !== undefined || !(ROLES as readonly string[]).includes(role)) {
        return this.fail(name, raw, `a comma-separated list of value=ROLE with ROLE one of ${ROLES.join(', ')}`, {});
      }
      map[value] = role as Role;
    }
    return map;
  }

  /** A comma-separated list of URLs. A bad entry is named by its position: URLs may hold passwords. */
  urls(name: string, protocols: string[]): string[] {
    const raw = this.string(name);
    if (raw === undefined) return [];
    const entries = raw.split(',').map((entry) => entry.trim());
    const bad = entries.findIndex((entry) => {
      try {
        return !protocols.includes(new URL(entry).protocol);
      } catch {
        return true;
      }
    });
    if (bad === -1) return entries;
    const expected = `a comma-separated list of URLs starting with ${protocols.map((p) => `${p}//`).join(' or ')}`;
    return this.fail(name, `<hidden>, entry ${bad + 1} of ${entries.length}`, expected, []);
  }

  /** `90`, `90s`, `15m`, `12h`, `7d`: a whole number of seconds. */
  duration(name: string, fallback: string): number {
    const raw = this.string(name) ?? fallback;
    const match = /^(\d+)\s*([smhd]?)$/i.exec(raw);
    const seconds = match ? Number(match[1]) * DURATION_UNITS[(match[2] || 's').toLowerCase()] : NaN;
    if (!Number.isSafeInteger(seconds) || seconds <= 0) {
      return this.fail(name, raw, 'a positive duration such as 900, 15m, 12h or 7d', 1);
    }
    return seconds;
  }

  /** A comma-separated list of durations (`5s,5m,2h`), each as {@link duration} reads one; at most 50. */
  durations(name: string, fallback: string): number[] {
    const raw = this.string(name) ?? fallback;
    const seconds = raw.split(',').map((entry) => {
      const match = /^(\d+)\s*([smhd]?)$/i.exec(entry.trim());
      return match ? Number(match[1]) * DURATION_UNITS[(match[2] || 's').toLowerCase()] : NaN;
    });
    if (seconds.length > 50 || seconds.some((value) => !Number.isSafeInteger(value) || value <= 0)) {
      return this.fail(name, raw, 'a comma-separated list of positive durations such as 5s,5m,30m,2h', [1]);
    }
    return seconds;
  }

  /** `1048576`, `512kb`, `4mb`: a number of bytes. */
  size(name: string, fallback: string): number {
    const raw = this.string(name) ?? fallback;
    const match = /^(\d+)\s*(b|kb|mb)?$/i.exec(raw);
    const bytes = match ? Number(match[1]) * SIZE_UNITS[(match[2] || 'b').toLowerCase()] : NaN;
    if (!Number.isSafeInteger(bytes) || bytes < 1024 || bytes > 256 * 1024 ** 2) {
      return this.fail(name, raw, 'a size from 1kb to 256mb, such as 4mb', 1024);
    }
    return bytes;
  }

  trustProxy(name: string): boolean | number | string[] {
    const raw = this.string(name);
    if (raw === undefined || raw.toLowerCase() === 'false') return false;
    if (raw.toLowerCase() === 'true') return true;
    if (/^\d+$/.test(raw)) return Number(raw);
    const entries = raw.split(',').map((entry) => entry.trim());
    if (entries.every((entry) => /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(entry))) return entries;
    return this.fail(name, raw, 'true, false, a hop count, or a comma-separated list of addresses/CIDRs', false);
  }

  /** A comma-separated list of origins (`scheme://host[:port]`, nothing more), or `*`. */
  origins(name: string): string[] {
    const raw = this.string(name);
    if (raw === undefined) return [];
    if (raw === '*') return ['*'];
    const entries = raw.split(',').map((entry) => entry.trim());
    const valid = entries.every((entry) => {
      try {
        const url = new URL(entry);
        return ['http:', 'https:'].includes(url.protocol) && url.origin === entry;
      } catch {
        return false;
      }
    });
    if (valid) return entries;
    return this.fail(name, raw, '* or a comma-separated list of origins such as https://app.example.com', []);
  }

  private fail<T>(name: string, raw: string, expected: string, fallback: T): T {
    this.problems.push(`${name} must be ${expected} (got "${raw}")`);
    return fallback;
  }
}
