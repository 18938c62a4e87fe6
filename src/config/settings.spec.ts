import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings, SettingsError } from './settings';

const PRIMARY = 'postgres://u:p@db:5432/logbook';
const load = (env: Record<string, string>) => loadSettings(env, { envFile: false, cwd: '/srv/logbook' });

function problemsOf(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
  throw new Error('expected a SettingsError');
}

describe('loadSettings', () => {
  it('has the documented defaults', () => {
    expect(load({})).toEqual({
      nodeEnv: 'development',
      port: 3000,
      host: '0.0.0.0',
      databaseUrl: undefined,
      databaseReplicaUrls: [],
      databasePoolSize: 10,
      databaseMigrationsUrl: undefined,
      embeddedPgDir: '/srv/logbook/.data/pg',
      redisUrl: undefined,
      jwtSecret: undefined,
      jwtAccessTtlSeconds: 900,
      jwtRefreshTtlSeconds: 7 * 86400,
      cacheTtlSeconds: 60,
      allowRegistration: true,
      loginMaxFailuresPerEmail: 10,
      loginMaxFailuresPerAddress: 100,
      loginThrottleWindowSeconds: 900,
      trustProxy: false,
      logLevel: 'info',
      bodyLimitBytes: 4 * 1024 * 1024,
      shutdownTimeoutMs: 10000,
      rateLimitMax: 6000,
      rateLimitWindowSeconds: 60,
      corsOrigins: [],
      deploymentId: '',
      concurrencyLimit: 100,
      ledgerSigningKey: undefined,
      ledgerOrigin: undefined,
      ledgerIntegrateIntervalMs: 1000,
      ledgerMaxDeferMs: 10000,
      oidc: undefined,
      webhookRetryScheduleSeconds: [5, 300, 1800, 7200, 18000, 36000, 36000],
      webhookDisableAfterSeconds: 5 * 86400,
      webhookEventRetentionSeconds: 30 * 86400,
      webhookMaxDeferMs: 10000,
      webhookAllowPrivate: false,
    });
  });

  it('reads and converts every kind of value', () => {
    const settings = load({
      PORT: '8080',
      DATABASE_URL: 'postgres://u:p@db:5432/logbook',
      DATABASE_MIGRATIONS_URL: 'postgres://u:p@db-direct:5432/logbook',
      EMBEDDED_PG_DIR: '/var/lib/logbook',
      REDIS_URL: 'redis://cache:6379',
      JWT_ACCESS_TTL: '90s',
      JWT_REFRESH_TTL: '12h',
      CACHE_TTL_SECONDS: '5',
      ALLOW_REGISTRATION: 'false',
      TRUST_PROXY: '10.0.0.0/8, 127.0.0.1',
      LOG_LEVEL: 'debug',
      BODY_LIMIT: '512kb',
      RATE_LIMIT_MAX: '0',
      RATE_LIMIT_WINDOW: '10s',
      CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
      CONCURRENCY_LIMIT: '0',
    });
    expect(settings).toMatchObject({
      port: 8080,
      databaseUrl: 'postgres://u:p@db:5432/logbook',
      databaseMigrationsUrl: 'postgres://u:p@db-direct:5432/logbook',
      embeddedPgDir: '/var/lib/logbook',
      redisUrl: 'redis://cache:6379',
      jwtAccessTtlSeconds: 90,
      jwtRefreshTtlSeconds: 43200,
      cacheTtlSeconds: 5,
      allowRegistration: false,
      trustProxy: ['10.0.0.0/8', '127.0.0.1'],
      logLevel: 'debug',
      bodyLimitBytes: 512 * 1024,
      rateLimitMax: 0,
      rateLimitWindowSeconds: 10,
      corsOrigins: ['https://app.example.com', 'http://localhost:5173'],
      concurrencyLimit: 0,
    });
    expect(load({ CORS_ORIGINS: '*' }).corsOrigins).toEqual(['*']);
    expect(load({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(load({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x/y'],
    ['DATABASE_MIGRATIONS_URL', 'http://x/y'],
    ['REDIS_URL', 'not a url'],
    ['JWT_ACCESS_TTL', '15 minutes'],
    ['JWT_REFRESH_TTL', '0'],
    ['CACHE_TTL_SECONDS', '-1'],
    ['ALLOW_REGISTRATION', 'maybe'],
    ['TRUST_PROXY', 'everyone'],
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
    ['BODY_LIMIT', '1gb'],
    ['CONCURRENCY_LIMIT', '-5'],
    ['JWT_SECRET', 'short'],
    ['RATE_LIMIT_MAX', '-5'],
    ['RATE_LIMIT_WINDOW', 'soon'],
    ['CORS_ORIGINS', 'https://app.example.com/path'],
    ['CORS_ORIGINS', 'app.example.com'],
  ])('stops on a bad %s (%p) with a message naming it', (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name} `));
  });

  it('names every bad value at once', () => {
    expect(problemsOf({ PORT: 'x', LOG_LEVEL: 'y' }).map((problem) => problem.split(' ')[0])).toEqual([
      'PORT',
      'LOG_LEVEL',
    ]);
  });

  it('never echoes a URL, which may hold a password', () => {
    expect(problemsOf({ DATABASE_URL: 'mysql://user:hunter2@db/x' })[0]).not.toContain('hunter2');
    const [problem] = problemsOf({
      DATABASE_URL: PRIMARY,
      DATABASE_REPLICA_URLS: 'postgres://u:hunter2@r1/logbook, mysql://u:hunter3@r2/logbook',
    });
    expect(problem).toMatch(/^DATABASE_REPLICA_URLS .*entry 2 of 2/);
    expect(problem).not.toMatch(/hunter|r1|r2/);
  });

  it('reads DATABASE_REPLICA_URLS as a comma-separated list of PostgreSQL URLs', () => {
    const replicas = ['postgres://u:p@r1:5432/logbook', 'postgresql://u:p@r2/logbook?sslmode=require'];
    expect(
      load({ DATABASE_URL: PRIMARY, DATABASE_REPLICA_URLS: ` ${replicas[0]} ,${replicas[1]}` }).databaseReplicaUrls,
    ).toEqual(replicas);
    expect(load({ DATABASE_URL: PRIMARY, DATABASE_REPLICA_URLS: ' ' }).databaseReplicaUrls).toEqual([]);
  });

  it.each([
    ['an empty entry', `${PRIMARY},,postgres://r2/logbook`],
    ['an entry that is no URL', 'r1:5432'],
    ['another scheme', 'redis://r1:6379'],
  ])('stops on DATABASE_REPLICA_URLS with %s', (_case, value) => {
    expect(problemsOf({ DATABASE_URL: PRIMARY, DATABASE_REPLICA_URLS: value })).toEqual([
      expect.stringMatching(
        /^DATABASE_REPLICA_URLS must be a comma-separated list of URLs starting with postgres:\/\//,
      ),
    ]);
  });

  it('needs DATABASE_URL for replicas, and not the primary among them', () => {
    expect(problemsOf({ DATABASE_REPLICA_URLS: 'postgres://r1/logbook' })).toEqual([
      'DATABASE_REPLICA_URLS needs DATABASE_URL (the primary the replicas follow)',
    ]);
    expect(problemsOf({ DATABASE_URL: PRIMARY, DATABASE_REPLICA_URLS: `postgres://r1/logbook,${PRIMARY}` })).toEqual([
      'DATABASE_REPLICA_URLS must not list DATABASE_URL itself',
    ]);
  });

  it('requires JWT_SECRET and LEDGER_SIGNING_KEY in production', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      'JWT_SECRET is required when NODE_ENV=production',
      'LEDGER_SIGNING_KEY is required when NODE_ENV=production',
    ]);
    const key = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const settings = load({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), LEDGER_SIGNING_KEY: key });
    expect(settings.jwtSecret).toBe('x'.repeat(32));
    expect(settings.ledgerSigningKey).toBe(key.trim());
  });

  it('takes the ledger key with its newlines written as \\n, and refuses a key that is not Ed25519', () => {
    const key = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(load({ LEDGER_SIGNING_KEY: key.replace(/\n/g, '\\n') }).ledgerSigningKey).toBe(key.trim());
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    for (const bad of [rsa, 'not a key']) {
      expect(problemsOf({ LEDGER_SIGNING_KEY: bad })).toEqual([
        expect.stringMatching(/^LEDGER_SIGNING_KEY must be an Ed25519 private key/),
      ]);
    }
    expect(problemsOf({ LEDGER_ORIGIN: 'two words' })).toEqual([expect.stringMatching(/^LEDGER_ORIGIN must be/)]);
    expect(problemsOf({ LEDGER_ORIGIN: 'a+b' })).toEqual([expect.stringMatching(/^LEDGER_ORIGIN must be/)]);
    expect(load({ LEDGER_ORIGIN: 'example.com/audit' }).ledgerOrigin).toBe('example.com/audit');
  });

  it('reads the identity provider: issuer and audience together, claims with their defaults, a role map', () => {
    const issuer = 'https://id.example.com/realms/acme';
    expect(load({ OIDC_ISSUER: issuer, OIDC_AUDIENCE: 'logbook' }).oidc).toEqual({
      issuer,
      audience: 'logbook',
      jwksUrl: undefined,
      emailClaim: 'email',
      nameClaim: 'name',
      roleClaim: undefined,
      roleMap: {},
    });
    const full = load({
      OIDC_ISSUER: issuer,
      OIDC_AUDIENCE: 'logbook',
      OIDC_JWKS_URL: `${issuer}/protocol/openid-connect/certs`,
      OIDC_EMAIL_CLAIM: 'upn',
      OIDC_NAME_CLAIM: 'preferred_username',
      OIDC_ROLE_CLAIM: 'realm_access.roles',
      OIDC_ROLE_MAP: 'admin=ADMIN, teacher = INSTRUCTOR,student=PARTICIPANT',
    }).oidc;
    expect(full).toMatchObject({
      jwksUrl: `${issuer}/protocol/openid-connect/certs`,
      emailClaim: 'upn',
      nameClaim: 'preferred_username',
      roleClaim: 'realm_access.roles',
      roleMap: { admin: 'ADMIN', teacher: 'INSTRUCTOR', student: 'PARTICIPANT' },
    });
  });

  it('refuses an identity provider half set, a bad role map, and plain http in production', () => {
    expect(problemsOf({ OIDC_ISSUER: 'https://id.example.com' })).toEqual([
      expect.stringMatching(/^OIDC_AUDIENCE is required with OIDC_ISSUER/),
    ]);
    expect(problemsOf({ OIDC_AUDIENCE: 'logbook' })).toEqual(['OIDC_AUDIENCE need OIDC_ISSUER']);
    expect(problemsOf({ OIDC_ISSUER: 'ftp://id.example.com', OIDC_AUDIENCE: 'x' })).toEqual([
      'OIDC_ISSUER must be a URL starting with https:// or http:// (got "ftp://id.example.com")',
    ]);
    const base = { OIDC_ISSUER: 'https://id.example.com', OIDC_AUDIENCE: 'logbook', OIDC_ROLE_CLAIM: 'roles' };
    for (const map of ['admin=ROOT', 'admin', 'a=ADMIN=x', '=ADMIN']) {
      expect(problemsOf({ ...base, OIDC_ROLE_MAP: map })).toEqual([expect.stringMatching(/^OIDC_ROLE_MAP must be/)]);
    }
    expect(problemsOf({ ...base, OIDC_ROLE_CLAIM: '', OIDC_ROLE_MAP: 'admin=ADMIN' })).toEqual([
      'OIDC_ROLE_MAP needs OIDC_ROLE_CLAIM',
    ]);
    const key = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const production = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), LEDGER_SIGNING_KEY: key };
    expect(problemsOf({ ...production, ...base, OIDC_ISSUER: 'http://id.example.com' })).toEqual([
      'OIDC_ISSUER must use https when NODE_ENV=production (or be loopback)',
    ]);
    expect(load({ ...production, ...base, OIDC_ISSUER: 'http://127.0.0.1:8080/realms/a' }).oidc?.issuer).toBe(
      'http://127.0.0.1:8080/realms/a',
    );
  });

  it('reads the webhook retry schedule as a list of durations', () => {
    expect(load({ WEBHOOK_RETRY_SCHEDULE: '1s, 2, 1m' }).webhookRetryScheduleSeconds).toEqual([1, 2, 60]);
    for (const bad of ['1s,,2s', '0s', 'soon', '-1']) {
      expect(problemsOf({ WEBHOOK_RETRY_SCHEDULE: bad })).toEqual([
        expect.stringMatching(/^WEBHOOK_RETRY_SCHEDULE must be a comma-separated list/),
      ]);
    }
    expect(load({ WEBHOOK_DISABLE_AFTER: '2h', WEBHOOK_ALLOW_PRIVATE: 'true' })).toMatchObject({
      webhookDisableAfterSeconds: 7200,
      webhookAllowPrivate: true,
    });
  });

  it('keeps webhook events 30 days by default, and never less long than their retries take', () => {
    expect(load({}).webhookEventRetentionSeconds).toBe(30 * 86400);
    expect(load({ WEBHOOK_EVENT_RETENTION: '2d' }).webhookEventRetentionSeconds).toBe(2 * 86400);
    // The default schedule takes 27 h 35 min 5 s in all.
    expect(problemsOf({ WEBHOOK_EVENT_RETENTION: '1d' })).toEqual([
      'WEBHOOK_EVENT_RETENTION must be longer than WEBHOOK_RETRY_SCHEDULE takes in all',
    ]);
    expect(load({ WEBHOOK_EVENT_RETENTION: '1h', WEBHOOK_RETRY_SCHEDULE: '1s,2s' }).webhookEventRetentionSeconds).toBe(
      3600,
    );
  });

  it('reads .env for what the environment lacks, the environment winning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'logbook-settings-'));
    writeFileSync(join(dir, '.env'), 'PORT=4000\nLOG_LEVEL=warn\n');
    const settings = loadSettings({ PORT: '5000' }, { cwd: dir });
    expect(settings.port).toBe(5000);
    expect(settings.logLevel).toBe('warn');
    expect(settings.embeddedPgDir).toBe(join(dir, '.data/pg'));
  });
});
