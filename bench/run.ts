/**
 * `npm run bench`: measures Logbook against the bare Fastify + pg reference (bench/reference.js) in one run, on the
 * embedded PostgreSQL or DATABASE_URL's server, and writes the table to bench/results/.
 *
 *   npm run bench -- --activities 1000000 --users 1000 --duration 10 --connections 50
 *
 * Each comparison runs `--rounds` times (default 3), Logbook then the reference, and reports the round with the
 * median ratio; the cached read and batch ingestion report their median round. `--reuse` keeps the data set of an
 * earlier run when it has the same size (no reload). `--only post,cached` runs
 * some scenarios (post, post-key, post-oidc, webhooks, first, filtered, deep, cached, batch, export, ledger). `--profile DIR` runs Logbook under
 * `node --cpu-prof` and prints where its CPU time went (bench/profile-summary.js).
 *
 * `--baseline REF` also measures the build of git ref REF (a branch, a tag, a commit) as a third server, in every
 * round beside Logbook and the reference, and reports Logbook's ratio to it. REF's tree is exported to
 * `.bench/baseline-<sha>` (git archive, so nothing is registered in the repository), given the current node_modules
 * when its package-lock.json is the same (else `npm ci`), built with `nest build`, started as Logbook is, and removed
 * at the end. `--node PATH` and `--baseline-node PATH` choose the Node binary each runs on (else the PATH's), to
 * compare runtimes on the same code (`npm ci --prefix .ci/node24` installs Node 24 there):
 *
 *   npm run bench -- --baseline main
 *   npm run bench -- --baseline HEAD --node .ci/node24/node_modules/.bin/node
 *
 * LEDGER_MAX_DEFER_MS and WEBHOOK_MAX_DEFER_MS, when set in the bench's environment, are passed on to the servers:
 * `WEBHOOK_MAX_DEFER_MS=0` measures writes with webhook deliveries made during the rounds instead of after them.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import * as argon2 from 'argon2';
import { Client } from 'pg';
import { createLogger } from '../src/common/logging/logger';
import { loadSettings } from '../src/config/settings';
import { EmbeddedPostgres } from '../src/database/embedded-postgres';
import { migrateDatabase } from '../src/database/database-server';
import { BenchIdentityProvider } from './identity-provider';
import { summarizeProfile } from './profile-summary';
import { BenchWebhookReceiver } from './webhook-receiver';

const ROOT = join(__dirname, '..');
const SECRET = 'logbook-bench-secret-0123456789-abcdefghijklmnop';
const PASSWORD = 'bench password';
/** The ledger's signing key in production mode (a build without a ledger ignores it). */
const LEDGER_KEY = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

const { values: flags } = parseArgs({
  options: {
    activities: { type: 'string', default: '1000000' },
    users: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    reuse: { type: 'boolean', default: false },
    only: { type: 'string' },
    profile: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    baseline: { type: 'string' },
    'baseline-node': { type: 'string' },
    node: { type: 'string' },
  },
});
const SCENARIOS = [
  'post',
  'post-key',
  'post-oidc',
  'webhooks',
  'first',
  'filtered',
  'deep',
  'cached',
  'batch',
  'export',
  'ledger',
] as const;
const selected = new Set(flags.only ? flags.only.split(',') : SCENARIOS);
for (const name of selected) {
  if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`--only: unknown scenario ${name}`);
}
if (flags['baseline-node'] && !flags.baseline) throw new Error('--baseline-node needs --baseline REF');
const runs = (scenario: (typeof SCENARIOS)[number]) => selected.has(scenario);
const ACTIVITIES = Number(flags.activities);
const USERS = Number(flags.users);
const DURATION = Number(flags.duration);
const CONNECTIONS = Number(flags.connections);
const ROUNDS = Math.max(1, Number(flags.rounds));

interface Measured {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** Answers by status, when some were not 2xx. */
  statuses?: Record<string, number>;
  timeouts?: number;
  maxMs?: number;
}
interface Row {
  scenario: string;
  logbook: Measured;
  reference?: Measured;
  ratio?: number;
  /** The deep cursor's p99 over the first page's. */
  p99Factor?: number;
  /** The ratio of each round, in the order run. */
  rounds?: number[];
  /** With --baseline: the baseline's figures in the round of the median ratio to it, that ratio, every round's. */
  baseline?: Measured;
  baselineRatio?: number;
  baselineRounds?: number[];
  note?: string;
}
type Tokens = Record<'writer' | 'participant' | 'admin', string>;
/** A server under load: where it answers, the tokens it signed (the reference takes Logbook's). */
interface Side {
  url: string;
  tokens: Tokens;
}
interface Sides {
  logbook: Side;
  baseline?: Side;
  reference: Side;
}
interface BatchResult {
  activitiesPerSecond: number;
  rounds?: number[];
}
interface ExportResult {
  rows: number;
  seconds: number;
  peakMb: number;
  mb: number;
}
/** The ledger at the data set's size: how fast it integrated it, and proofs read from a tree that big. */
interface LedgerResult {
  leaves: number;
  seconds: number;
  leavesPerSecond: number;
  treeSize: number;
  inclusion: Measured;
  consistency: Measured;
}
/** What --baseline measured beside the rows: where it came from and its own figures. */
interface BaselineSummary {
  ref: string;
  sha: string;
  idleMb: number;
  batch?: BatchResult & { ratio: number };
  exported?: ExportResult;
}
/** The Node version each server ran on. */
interface Nodes {
  logbook: string;
  baseline?: string;
  reference: string;
}

const log = (message: string) => process.stdout.write(`[bench] ${message}\n`);

/** A connection of the bench's own to the data set's database, to see when it has gone quiet. */
let monitor: Client | undefined;

/**
 * Waits until the database runs no statement for anybody else: requests still queued in a server when the load of
 * one scenario stops (an ADMIN's count over all rows, say) must not run into the next scenario's measurement.
 */
async function settle(): Promise<void> {
  if (!monitor) return;
  for (let i = 0; i < 600; i += 1) {
    const { rows } = await monitor.query<{ busy: string }>(
      `SELECT count(*) AS busy FROM pg_stat_activity
        WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()`,
    );
    if (Number(rows[0].busy) === 0 && (await ledgerBacklog()) === 0 && (await webhookBacklog()) === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}

/**
 * Records still waiting for the ledger (0 for a build without one). Logbook adds its writes to the tree in the
 * background, at the cost of its own measurement; no other side is measured until it has caught up.
 */
async function ledgerBacklog(): Promise<number> {
  const { rows } = await monitor!.query<{ waiting: string | null }>(
    `SELECT CASE WHEN to_regclass('ledger_pending') IS NULL THEN 0
                 ELSE (SELECT count(*) FROM (SELECT 1 FROM ledger_pending LIMIT 1) AS any_row) END AS waiting`,
  );
  return Number(rows[0].waiting ?? 0);
}

/** Webhook events not dispatched, and deliveries queued or in progress (0 for a build without webhooks). */
async function webhookBacklog(): Promise<number> {
  const { rows } = await monitor!.query<{ waiting: string | null }>(
    `SELECT CASE WHEN to_regclass('webhook_events') IS NULL THEN 0
                 ELSE (SELECT count(*) FROM (SELECT 1 FROM webhook_events WHERE dispatched_at IS NULL LIMIT 1) AS e) END
          + CASE WHEN to_regclass('pgboss.job') IS NULL THEN 0
                 ELSE (SELECT count(*) FROM (SELECT 1 FROM pgboss.job
                                              WHERE name = 'webhook-delivery' AND state IN ('created', 'retry', 'active')
                                              LIMIT 1) AS j) END AS waiting`,
  );
  return Number(rows[0].waiting ?? 0);
}

async function main(): Promise<void> {
  const settings = loadSettings(process.env);
  // Built first: a ref that does not build fails the run before the data set is loaded.
  const baselineBuild = flags.baseline ? buildBaseline(flags.baseline) : undefined;
  const nodes: Nodes = {
    logbook: nodeVersion(flags.node),
    baseline: baselineBuild && nodeVersion(flags['baseline-node']),
    reference: nodeVersion(undefined),
  };
  let embedded: EmbeddedPostgres | undefined;
  let adminUrl = settings.databaseUrl;
  if (!adminUrl) {
    embedded = new EmbeddedPostgres({ dataDir: join(ROOT, '.data', 'bench-pg') });
    adminUrl = await embedded.start();
  }
  const children: ChildProcess[] = [];
  // An interrupted run takes the copy with it too: left behind, its sources would join the project's lint and tests.
  for (const signal of baselineBuild ? (['SIGINT', 'SIGTERM'] as const) : []) {
    process.once(signal, () => {
      for (const child of children) child.kill('SIGTERM');
      removeBaseline(baselineBuild!.dir);
      process.exit(130);
    });
  }
  try {
    const reused = flags.reuse ? await existingDataSet(adminUrl, 'logbook_bench') : undefined;
    const url = reused ?? (await freshDatabase(adminUrl, 'logbook_bench'));
    await migrateDatabase(url, createLogger('warn'));
    const loadRate = reused ? undefined : await load(url);
    if (reused) await forgetEarlierRuns(reused);
    monitor = new Client({ connectionString: url });
    await monitor.connect();

    // Logbook also takes the tokens of an identity provider of the bench's own (a baseline without OIDC ignores it).
    const idp = runs('post-oidc') ? await BenchIdentityProvider.start() : undefined;
    const logbook = await startServer(
      'logbook',
      productionCommand(ROOT, flags.node, true),
      url,
      4101,
      ROOT,
      idp?.settings,
    );
    children.push(logbook.child);
    const baseline = baselineBuild
      ? await startServer(
          'baseline',
          productionCommand(baselineBuild.dir, flags['baseline-node']),
          url,
          4103,
          baselineBuild.dir,
        )
      : undefined;
    if (baseline) children.push(baseline.child);
    const reference = await startServer(
      'reference',
      `exec node ${join(ROOT, 'bench', 'reference.js')}`,
      url,
      4102,
      ROOT,
    );
    children.push(reference.child);
    log(
      `Node: Logbook ${nodes.logbook}${nodes.baseline ? `, baseline ${nodes.baseline}` : ''}, reference ${nodes.reference}`,
    );

    // The reference checks Logbook's tokens (same secret); the baseline signs its own, in case their form changed.
    const tokens = await signInAll(logbook.url);
    const sides: Sides = {
      logbook: { url: logbook.url, tokens },
      baseline: baseline && { url: baseline.url, tokens: await signInAll(baseline.url) },
      reference: { url: reference.url, tokens },
    };
    await warmUp(sides.logbook);
    const idleMb = rssMb(logbook.child.pid!);
    if (sides.baseline) await warmUp(sides.baseline);
    const baselineIdleMb = baseline ? rssMb(baseline.child.pid!) : undefined;

    const rows: Row[] = [];
    if (runs('post')) {
      const body = JSON.stringify({ action: 'BENCH_POST', metadata: { i: 1 } });
      rows.push(
        await compare(
          sides,
          'POST /activities',
          { logbook: '/api/v1/activities', reference: '/activities' },
          'writer',
          { method: 'POST', body },
        ),
      );
    }
    const postKey = runs('post-key') ? await postWithKey(sides.logbook) : undefined;
    const postOidc = idp ? await postWithProviderToken(sides.logbook, idp) : undefined;
    await idp?.close();
    const webhooks = runs('webhooks') ? await webhookScenario(sides, rows) : undefined;
    let first: Row | undefined;
    if (runs('first') || runs('cached')) {
      first = await compare(
        sides,
        'GET /activities, first page (uncached)',
        { logbook: '/api/v1/activities?limit=20', reference: '/activities?limit=20' },
        'participant',
        {},
        true,
      );
      rows.push(first);
    }
    if (runs('filtered')) {
      const window = `start=${daysAgo(180)}&end=${daysAgo(90)}`;
      rows.push(
        await compare(
          sides,
          'GET filtered (action + 90-day window, uncached)',
          {
            logbook: `/api/v1/activities?action=VIEW_COURSE&${window}`,
            reference: `/activities?action=VIEW_COURSE&${window}`,
          },
          'participant',
          {},
          true,
        ),
      );
    }
    if (runs('deep')) {
      const deep = await deepCursor(sides.logbook.url, sides.logbook.tokens.admin);
      // The baseline pages with a cursor it signed itself: the cursor's form may differ between builds.
      const baselineDeep = sides.baseline && (await deepCursor(sides.baseline.url, sides.baseline.tokens.admin));
      const adminFirst = await measure(
        `${logbook.url}/api/v1/activities?limit=20`,
        sides.logbook.tokens.admin,
        {},
        true,
      );
      const deepRow = await compare(
        sides,
        `GET by cursor past row ${deep.position.toLocaleString('en')} (ADMIN, all users)`,
        {
          logbook: `/api/v1/activities?limit=20&cursor=${encodeURIComponent(deep.cursor)}`,
          baseline: baselineDeep && `/api/v1/activities?limit=20&cursor=${encodeURIComponent(baselineDeep.cursor)}`,
          reference: `/activities?all=1&limit=20&afterTimestamp=${encodeURIComponent(deep.timestamp)}&afterId=${deep.id}`,
        },
        'admin',
        {},
        true,
      );
      deepRow.p99Factor = deepRow.logbook.p99 / adminFirst.p99;
      deepRow.note = `p99 ${deepRow.logbook.p99} ms vs ADMIN first page p99 ${adminFirst.p99} ms (${adminFirst.rps.toLocaleString('en')} req/s): ${deepRow.p99Factor.toFixed(2)}x`;
      rows.push(deepRow);
    }
    if (runs('cached') && first) {
      log('GET /activities served from the cache');
      const results = await inRounds(async () => ({
        logbook: await measure(`${logbook.url}/api/v1/activities?limit=20`, sides.logbook.tokens.participant, {}),
        baseline:
          sides.baseline &&
          (await measure(`${sides.baseline.url}/api/v1/activities?limit=20`, sides.baseline.tokens.participant, {})),
      }));
      const cached = medianBy(results, (result) => result.logbook.rps);
      const versus = versusBaseline(results, (result) => result.baseline && result.logbook.rps / result.baseline.rps);
      rows.push({
        scenario: 'GET /activities served from the cache',
        logbook: cached.logbook,
        reference: first.reference,
        ratio: cached.logbook.rps / first.reference!.rps,
        rounds: cached.rounds.map((rps) => rps / first.reference!.rps),
        ...(versus && { baseline: versus.median.baseline, baselineRatio: versus.ratio, baselineRounds: versus.rounds }),
        note: 'against the reference’s uncached GET (its median round)',
      });
    }

    let batch: BatchResult | undefined;
    let baselineBatch: BaselineSummary['batch'];
    if (runs('batch')) {
      const results = await inRounds(async () => ({
        logbook: await batchIngestion(sides.logbook),
        baseline: sides.baseline && (await batchIngestion(sides.baseline)),
      }));
      const median = medianBy(results, (result) => result.logbook.activitiesPerSecond);
      batch = { activitiesPerSecond: median.logbook.activitiesPerSecond, rounds: median.rounds };
      const versus = versusBaseline(
        results,
        (result) => result.baseline && result.logbook.activitiesPerSecond / result.baseline.activitiesPerSecond,
      );
      if (versus) {
        baselineBatch = {
          activitiesPerSecond: versus.median.baseline!.activitiesPerSecond,
          ratio: versus.ratio,
          rounds: results.map((result) => result.baseline!.activitiesPerSecond),
        };
      }
    }
    const ledger = runs('ledger') ? await ledgerIntegration(sides.logbook, url) : undefined;
    const exported = runs('export') ? await exportAll(sides.logbook, logbook.child.pid!) : undefined;
    const baselineExported =
      runs('export') && sides.baseline ? await exportAll(sides.baseline, baseline!.child.pid!) : undefined;
    const baselineSummary: BaselineSummary | undefined = baselineBuild && {
      ref: flags.baseline!,
      sha: baselineBuild.sha,
      idleMb: baselineIdleMb!,
      batch: baselineBatch,
      exported: baselineExported,
    };

    const report = renderReport(rows, {
      loadRate,
      batch,
      exported,
      idleMb,
      nodes,
      baseline: baselineSummary,
      ledger,
      postKey,
      postOidc,
      webhooks,
    });
    process.stdout.write(`\n${report}\n`);
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    writeFileSync(
      join(ROOT, 'bench', 'results', `${stamp}.json`),
      JSON.stringify(
        {
          flags,
          nodes,
          rows,
          loadRate,
          batch,
          exported,
          idleMb,
          baseline: baselineSummary,
          ledger,
          postKey,
          postOidc,
          webhooks,
        },
        null,
        2,
      ),
    );
    // Only a whole, unprofiled run is the latest table.
    if (!flags.only && !flags.profile) writeFileSync(join(ROOT, 'bench', 'results', 'latest.md'), `${report}\n`);
  } finally {
    await monitor?.end().catch(() => undefined);
    await Promise.all(children.map(stop));
    await embedded?.stop();
    if (baselineBuild) removeBaseline(baselineBuild.dir);
  }
  if (flags.profile) summarizeProfiles(flags.profile);
}

/** SIGTERM, then the exit (a profiled process writes its profile as it exits). */
function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  return Promise.race([exited, new Promise<void>((resolve) => setTimeout(resolve, 15_000))]);
}

function summarizeProfiles(dir: string): void {
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'))) {
    process.stdout.write(`\n${file}\n${summarizeProfile(join(dir, file), 30)}\n`);
  }
}

/** The database of an earlier run, if it holds the data set asked for (same users and activities). */
async function existingDataSet(adminUrl: string, name: string): Promise<string | undefined> {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const client = new Client({ connectionString: url.toString() });
  try {
    await client.connect();
    const { rows } = await client.query<{ users: string; seeded: string }>(
      `SELECT (SELECT count(*) FROM users WHERE email LIKE 'bench%@example.com') AS users,
              (SELECT count(*) FROM activities WHERE action NOT LIKE 'BENCH\\_%') AS seeded`,
    );
    return Number(rows[0].users) === USERS && Number(rows[0].seeded) === ACTIVITIES ? url.toString() : undefined;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** What earlier runs wrote (POST and batch scenarios) goes, so that a reused data set reads as a fresh one. */
async function forgetEarlierRuns(url: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rowCount } = await client.query(`DELETE FROM activities WHERE action LIKE 'BENCH\\_%'`);
    await client.query('VACUUM ANALYZE activities');
    log(`reusing the data set of an earlier run (removed ${rowCount ?? 0} activities it wrote)`);
  } finally {
    await client.end();
  }
}

async function freshDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Users (bench1 is the ADMIN) and activities spread over two years, generated by PostgreSQL itself. */
async function load(url: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const hash = await argon2.hash(PASSWORD, { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 });
    await client.query(
      `INSERT INTO users (email, name, role, password_hash)
       SELECT 'bench' || g || '@example.com', 'Bench User ' || g, CASE WHEN g = 1 THEN 'ADMIN' ELSE 'PARTICIPANT' END, $1
         FROM generate_series(1, $2::int) AS g`,
      [hash, USERS],
    );
    const started = Date.now();
    const chunk = 200_000;
    // Two years of history: the months' partitions first, so that every row goes straight to its month (rows
    // loaded into a month without one would wait in DEFAULT for the daily maintenance).
    await client.query(
      `SELECT logbook_month_partition('activities', month::date)
         FROM generate_series(date_trunc('month', now() - interval '731 days'), now(), interval '1 month') AS month`,
    );
    for (let from = 1; from <= ACTIVITIES; from += chunk) {
      const to = Math.min(ACTIVITIES, from + chunk - 1);
      await client.query(
        `INSERT INTO activities (user_id, action, status, metadata, actor_user_id, actor_name, actor_email, actor_role,
                                 target_type, target_id, target_name, context_source, context_additional_info, timestamp)
         SELECT g % $3::int + 1,
                (ARRAY['LOGIN','VIEW_COURSE','DOWNLOAD_FILE','SUBMIT_ASSIGNMENT','LOGOUT'])[(g / $3::int) % 5 + 1],
                (ARRAY['PENDING','IN_PROGRESS','DONE','FAILED'])[(g / $3::int) % 7 % 4 + 1],
                jsonb_build_object('seq', g, 'device', 'web'),
                (g % $3::int + 1)::text, 'Bench User ' || (g % $3::int + 1), 'bench' || (g % $3::int + 1) || '@example.com',
                'PARTICIPANT', 'COURSE', 'course-' || (g % 300), 'Course ' || (g % 300), 'WEB_APP', '{}'::jsonb,
                now() - ((($2::int - g)::float / $2::int) * interval '730 days')
           FROM generate_series($1::int, $4::int) AS g`,
        [from, ACTIVITIES, USERS, to],
      );
      log(`loaded ${to.toLocaleString('en')} activities`);
    }
    const rate = ACTIVITIES / ((Date.now() - started) / 1000);
    await client.query('VACUUM ANALYZE');
    return rate;
  } finally {
    await client.end();
  }
}

/**
 * Logbook is started as `npm run start:prod` starts it (package.json's script in `root`, so any setting it makes holds
 * here too), under `exec` so that the process measured is Node itself, on `node` (a path; else the PATH's node);
 * `--profile` adds `node --cpu-prof` to Logbook's own run.
 */
function productionCommand(root: string, node: string | undefined, profile = false): string {
  const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts;
  const script = scripts['start:prod'];
  const parts = /^((?:\S+=\S+ )*)exec node (.+)$/.exec(script);
  if (!parts) throw new Error(`start:prod is expected to be [VAR=value ...] exec node ...: ${script}`);
  const profiling = profile && flags.profile ? `--cpu-prof --cpu-prof-dir=${flags.profile} ` : '';
  return `${parts[1]}exec ${node ? shellQuoted(resolve(node)) : 'node'} ${profiling}${parts[2]}`;
}

function shellQuoted(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `node --version` of a binary (the PATH's node without one). */
function nodeVersion(node: string | undefined): string {
  return execFileSync(node ? resolve(node) : 'node', ['--version'], { encoding: 'utf8' }).trim();
}

/**
 * REF's tree, exported to `.bench/baseline-<sha>` and built there. An export rather than a git worktree: nothing is
 * registered in the repository, so a run that dies leaves only a folder behind.
 */
function buildBaseline(ref: string): { dir: string; sha: string } {
  const sha = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: ROOT, encoding: 'utf8' }).trim();
  const dir = join(ROOT, '.bench', `baseline-${sha.slice(0, 12)}`);
  log(`baseline ${ref} (${sha.slice(0, 12)}): building in ${dir}`);
  removeBaseline(dir);
  mkdirSync(dir, { recursive: true });
  const archive = spawnSync('git', ['archive', '--format=tar', sha], { cwd: ROOT, maxBuffer: 1 << 30 });
  if (archive.status !== 0) throw new Error(`git archive ${sha} failed: ${String(archive.stderr)}`);
  run('tar', ['-x', '-C', dir], ROOT, archive.stdout);
  const lock = (root: string) => readFileSync(join(root, 'package-lock.json'));
  if (lock(dir).equals(lock(ROOT))) {
    symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(dir, 'node_modules'), 'dir');
  } else {
    log('baseline: its package-lock.json differs, npm ci');
    run('npm', ['ci', '--no-audit', '--no-fund'], dir);
  }
  // The same settings as Logbook's: .env fills what the environment lacks, in both.
  if (existsSync(join(ROOT, '.env'))) copyFileSync(join(ROOT, '.env'), join(dir, '.env'));
  run(join(dir, 'node_modules', '.bin', 'nest'), ['build'], dir);
  return { dir, sha };
}

function removeBaseline(dir: string): void {
  // The node_modules link goes first, on its own, so that nothing can reach through it.
  rmSync(join(dir, 'node_modules'), { force: true, recursive: !isLink(join(dir, 'node_modules')) });
  rmSync(dir, { recursive: true, force: true });
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function run(command: string, args: string[], cwd: string, input?: Buffer): void {
  const result = spawnSync(command, args, { cwd, input, stdio: [input ? 'pipe' : 'ignore', 'inherit', 'inherit'] });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed: ${result.status ?? result.signal}`);
}

/** Settings passed on to the servers from the bench's own environment. */
const PASSED_SETTINGS = ['LEDGER_MAX_DEFER_MS', 'WEBHOOK_MAX_DEFER_MS'];

async function startServer(
  name: string,
  command: string,
  url: string,
  port: number,
  cwd: string,
  extraEnv: Record<string, string> = {},
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn('sh', ['-c', command], {
    cwd,
    env: {
      ...extraEnv,
      PATH: process.env.PATH,
      DATABASE_URL: url,
      PORT: String(port),
      JWT_SECRET: SECRET,
      LEDGER_SIGNING_KEY: LEDGER_KEY,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      REDIS_URL: process.env.REDIS_URL ?? '',
      // The load comes from one address at thousands of requests a second: the limit stays on (its cost is
      // measured) but high enough never to refuse one.
      RATE_LIMIT_MAX: '100000000',
      // The webhook scenario's receiver listens on this machine.
      WEBHOOK_ALLOW_PRIVATE: 'true',
      // How long background work gives way to requests, when the bench is run with them set (to show the cost of
      // doing it during the rounds, say).
      ...Object.fromEntries(
        PASSED_SETTINGS.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]]),
      ),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i += 1) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${base}${name === 'reference' ? '/activities' : '/health'}`);
      if (res.status < 500) {
        log(`${name} up on ${base}`);
        return { child, url: base };
      }
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} did not start`);
}

/** Writes go to one user, reads to another, so the reads see a steady ~1,000 activities of their user. */
async function signInAll(base: string): Promise<Tokens> {
  return {
    writer: await signIn(base, 'bench3@example.com'),
    participant: await signIn(base, 'bench2@example.com'),
    admin: await signIn(base, 'bench1@example.com'),
  };
}

async function signIn(base: string, email: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  const body = (await res.json()) as { data: { accessToken: string } };
  return body.data.accessToken;
}

async function warmUp(side: Side): Promise<void> {
  await autocannon({
    url: `${side.url}/api/v1/activities`,
    connections: 10,
    duration: 2,
    headers: { authorization: `Bearer ${side.tokens.participant}` },
  });
}

/** `uncached`: the request asks for a fresh read (Cache-Control: no-cache), so Logbook's list cache does not answer. */
async function measure(
  url: string,
  token: string,
  options: { method?: 'POST'; body?: string; connections?: number },
  uncached = false,
): Promise<Measured> {
  await settle();
  const result = await autocannon({
    url,
    connections: options.connections ?? CONNECTIONS,
    duration: DURATION,
    method: options.method ?? 'GET',
    body: options.body,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...(uncached ? { 'cache-control': 'no-cache' } : {}),
    },
  });
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    ...(result.non2xx
      ? {
          statuses: Object.fromEntries(
            Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, stat.count ?? 0]),
          ),
          timeouts: result.timeouts,
          maxMs: result.latency.max,
        }
      : {}),
  };
}

/**
 * `ROUNDS` rounds of Logbook, then the baseline (with --baseline), then the reference, one after the other. The row
 * is the round with the median ratio to the reference: its measurements were taken side by side, under the same
 * conditions of the machine; the ratio to the baseline is that of its own median round. `paths.baseline` defaults
 * to Logbook's path.
 */
async function compare(
  sides: Sides,
  scenario: string,
  paths: { logbook: string; baseline?: string; reference: string },
  who: keyof Tokens,
  options: { method?: 'POST'; body?: string },
  uncached = false,
): Promise<Row> {
  log(scenario);
  const { logbook, baseline, reference } = sides;
  const results = await inRounds(async () => ({
    logbook: await measure(`${logbook.url}${paths.logbook}`, logbook.tokens[who], options, uncached),
    baseline:
      baseline &&
      (await measure(`${baseline.url}${paths.baseline ?? paths.logbook}`, baseline.tokens[who], options, uncached)),
    reference: await measure(`${reference.url}${paths.reference}`, reference.tokens[who], options),
  }));
  const median = medianBy(results, (round) => round.logbook.rps / round.reference.rps);
  const versus = versusBaseline(results, (round) => round.baseline && round.logbook.rps / round.baseline.rps);
  return {
    scenario,
    logbook: median.logbook,
    reference: median.reference,
    ratio: median.logbook.rps / median.reference.rps,
    rounds: median.rounds,
    ...(versus && { baseline: versus.median.baseline, baselineRatio: versus.ratio, baselineRounds: versus.rounds }),
  };
}

interface PostKeyResult {
  token: Measured;
  /** With the other credential (an API key, an identity provider's token). */
  key: Measured;
  /** key req/s over token req/s in the median round. */
  ratio: number;
  rounds: number[];
}

/**
 * The writer's `POST /activities` with an API key of its own (sent as a bearer token), against the same requests
 * with its access token.
 */
async function postWithKey(side: Side): Promise<PostKeyResult> {
  log('POST /activities with an API key, against the token');
  const res = await fetch(`${side.url}/api/v1/api-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${side.tokens.writer}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', scopes: ['activities:write'] }),
  });
  return postAgainstToken(side, ((await res.json()) as { data: { key: string } }).data.key);
}

/**
 * The writer's `POST /activities` with an access token of the identity provider (linked to the writer by its verified
 * email on the first request), against the same requests with Logbook's token. No fetch from the provider may happen
 * after the first request.
 */
async function postWithProviderToken(side: Side, idp: BenchIdentityProvider): Promise<PostKeyResult> {
  log('POST /activities with an identity provider’s token, against Logbook’s');
  const token = await idp.token('bench3@example.com');
  const first = await fetch(`${side.url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });
  if (first.status !== 200) throw new Error(`the identity provider's token was refused: ${first.status}`);
  const fetches = idp.fetches;
  const result = await postAgainstToken(side, token);
  if (idp.fetches !== fetches)
    throw new Error(`Logbook fetched from the identity provider ${idp.fetches - fetches} times`);
  return result;
}

/** `ROUNDS` rounds of POST with `credential` and with the writer's token, one after the other, on Logbook. */
async function postAgainstToken(side: Side, credential: string): Promise<PostKeyResult> {
  const url = `${side.url}/api/v1/activities`;
  const options = { method: 'POST' as const, body: JSON.stringify({ action: 'BENCH_POST', metadata: { i: 1 } }) };
  const results = await inRounds(async () => ({
    token: await measure(url, side.tokens.writer, options),
    key: await measure(url, credential, options),
  }));
  // A refusal is reported, not hidden in the rates: the run goes on, and the report names the round.
  results.forEach((round, index) => {
    for (const [side, measured] of [
      ['credential', round.key],
      ['token', round.token],
    ] as const) {
      if (measured.non2xx) log(`round ${index + 1}, ${side}: not 201: ${JSON.stringify(measured)}`);
    }
  });
  const median = medianBy(results, (round) => round.key.rps / round.token.rps);
  return { token: median.token, key: median.key, ratio: median.key.rps / median.token.rps, rounds: median.rounds };
}

interface WebhookResult {
  /** Events delivered (distinct ids received) and how long from the first write to the last delivery. */
  events: number;
  seconds: number;
  eventsPerSecond: number;
  /** Requests the receiver got: more than `events` when some event was sent twice. */
  requests: number;
}

/**
 * Webhooks, with one endpoint subscribed to `activity.created` at a receiver in this process that answers at once:
 * `POST /activities` side by side with the baseline (which writes no events; run `--baseline` with the build before
 * the outbox), then delivery on its own: 20,000 activities written in batches as fast as they go, and the time until
 * the receiver has every one of their events.
 */
async function webhookScenario(sides: Sides, rows: Row[]): Promise<WebhookResult> {
  const receiver = await BenchWebhookReceiver.start();
  const admin = { authorization: `Bearer ${sides.logbook.tokens.admin}`, 'content-type': 'application/json' };
  const made = await fetch(`${sides.logbook.url}/api/v1/webhooks`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ url: receiver.url, events: ['activity.created'] }),
  });
  if (made.status !== 201) throw new Error(`POST /webhooks answered ${made.status}: ${await made.text()}`);
  const endpoint = ((await made.json()) as { data: { id: number } }).data.id;
  try {
    const body = JSON.stringify({ action: 'BENCH_POST', metadata: { i: 1 } });
    const row = await compare(
      sides,
      'POST /activities with one webhook endpoint subscribed',
      { logbook: '/api/v1/activities', reference: '/activities' },
      'writer',
      { method: 'POST', body },
    );
    rows.push(row);
    log('webhook delivery: 20,000 events to a receiver that answers at once');
    await settle();
    const before = receiver.ids.size;
    const requestsBefore = receiver.requests;
    const items = Array.from({ length: 1000 }, (_, i) => ({ action: 'BENCH_WEBHOOK', metadata: { i } }));
    const started = performance.now();
    for (let batch = 0; batch < 20; batch += 1) {
      const res = await fetch(`${sides.logbook.url}/api/v1/activities/batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${sides.logbook.tokens.writer}`, 'content-type': 'application/json' },
        body: JSON.stringify({ items }),
      });
      if (res.status !== 201) throw new Error(`POST /activities/batch answered ${res.status}`);
    }
    while (receiver.ids.size - before < 20_000) {
      if (performance.now() - started > 300_000) throw new Error('webhook delivery did not finish in 5 minutes');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const seconds = (performance.now() - started) / 1000;
    return {
      events: 20_000,
      seconds,
      eventsPerSecond: Math.round(20_000 / seconds),
      requests: receiver.requests - requestsBefore,
    };
  } finally {
    await fetch(`${sides.logbook.url}/api/v1/webhooks/${endpoint}`, { method: 'DELETE', headers: admin });
    await receiver.close();
  }
}

/** `ROUNDS` runs of `run`, one after the other. */
async function inRounds<T>(run: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let round = 0; round < ROUNDS; round++) results.push(await run());
  return results;
}

/** The median of `results` by `value`, with every round's value in the order run. */
function medianBy<T>(results: T[], value: (result: T) => number): T & { rounds: number[] } {
  const median = [...results].sort((a, b) => value(a) - value(b))[Math.floor(results.length / 2)];
  return { ...median, rounds: results.map(value) };
}

/** Logbook's ratio to the baseline in its median round, and every round's; undefined without a baseline. */
function versusBaseline<T>(
  results: T[],
  ratio: (result: T) => number | undefined,
): { median: T; ratio: number; rounds: number[] } | undefined {
  if (results.some((result) => ratio(result) === undefined)) return undefined;
  const median = medianBy(results, (result) => ratio(result)!);
  return { median, ratio: ratio(median)!, rounds: median.rounds };
}

/** A cursor past the 900,000th row of everyone's activities (or 90% of a smaller data set), as Logbook signs it. */
async function deepCursor(
  base: string,
  admin: string,
): Promise<{ cursor: string; timestamp: string; id: number; position: number }> {
  const position = Math.floor(ACTIVITIES * 0.9);
  const res = await fetch(`${base}/api/v1/activities?limit=100&page=${Math.floor(position / 100)}`, {
    headers: { authorization: `Bearer ${admin}` },
  });
  const body = (await res.json()) as { data: { id: number; timestamp: string }[]; meta: { nextCursor: string } };
  const last = body.data[body.data.length - 1];
  return { cursor: body.meta.nextCursor, timestamp: last.timestamp, id: last.id, position };
}

async function batchIngestion(side: Side): Promise<BatchResult> {
  log('batch ingestion');
  await settle();
  const items = Array.from({ length: 1000 }, (_, index) => ({ action: 'BENCH_BATCH', metadata: { index } }));
  const result = await autocannon({
    url: `${side.url}/api/v1/activities/batch`,
    connections: 4,
    duration: DURATION,
    method: 'POST',
    body: JSON.stringify({ items }),
    headers: { authorization: `Bearer ${side.tokens.writer}`, 'content-type': 'application/json' },
  });
  return {
    activitiesPerSecond: Math.round(((result.requests.total - result.non2xx) * 1000) / (result.duration || DURATION)),
  };
}

/**
 * The ledger at the size of the data set: every seeded activity not in the tree yet is queued for it at once (as
 * the migration queues the records of an existing database), and the running Logbook integrates them; then
 * inclusion and consistency proofs are read at that size.
 */
async function ledgerIntegration(side: Side, url: string): Promise<LedgerResult> {
  log('ledger: integrating the data set');
  await settle();
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const queued = await client.query(
      `INSERT INTO ledger_pending (kind, record_id, recorded_at, status)
       SELECT 'activity', a.id, a.timestamp, a.status FROM activities a
        WHERE NOT EXISTS (SELECT 1 FROM ledger_leaves l WHERE l.kind = 'activity' AND l.record_id = a.id)`,
    );
    const started = Date.now();
    while ((await ledgerBacklog()) > 0) await new Promise((resolve) => setTimeout(resolve, 200));
    const seconds = (Date.now() - started) / 1000;
    const { rows } = await client.query<{ size: string; id: string }>(
      `SELECT (SELECT max(tree_size) FROM ledger_checkpoints) AS size,
              (SELECT record_id FROM ledger_leaves WHERE kind = 'activity' ORDER BY leaf_index LIMIT 1 OFFSET 1000) AS id`,
    );
    const treeSize = Number(rows[0].size);
    log(
      `ledger: ${(queued.rowCount ?? 0).toLocaleString('en')} leaves in ${seconds.toFixed(1)} s; tree of ${treeSize}`,
    );
    await settle();
    // One request at a time: what a proof costs (its latency), not how many a loaded server answers.
    const inclusion = await measure(`${side.url}/api/v1/activities/${rows[0].id}/proof`, side.tokens.admin, {
      connections: 1,
    });
    const consistency = await measure(
      `${side.url}/api/v1/ledger/consistency?from=${Math.floor(treeSize / 3)}&to=${treeSize}`,
      side.tokens.admin,
      { connections: 1 },
    );
    return {
      leaves: queued.rowCount ?? 0,
      seconds,
      leavesPerSecond: Math.round((queued.rowCount ?? 0) / seconds),
      treeSize,
      inclusion,
      consistency,
    };
  } finally {
    await client.end();
  }
}

async function exportAll(side: Side, pid: number): Promise<ExportResult> {
  log('export of all rows as CSV');
  await settle();
  let peak = rssMb(pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 50);
  const started = Date.now();
  const res = await fetch(`${side.url}/api/v1/activities/export?format=csv`, {
    headers: { authorization: `Bearer ${side.tokens.admin}` },
  });
  let bytes = 0;
  let lines = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (const byte of chunk) if (byte === 10) lines += 1;
  }
  clearInterval(sampler);
  return {
    rows: lines - 1,
    seconds: (Date.now() - started) / 1000,
    peakMb: Math.round(peak),
    mb: Math.round(bytes / 1024 / 1024),
  };
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

function daysAgo(days: number): string {
  return new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
}

/** The targets, each with the figure it is judged by. */
function targets(
  rows: Row[],
  extra: {
    batch?: { activitiesPerSecond: number };
    exported?: { rows: number; seconds: number; peakMb: number };
    idleMb: number;
  },
): (readonly [string, string, boolean | undefined])[] {
  const ratio = (prefix: string) => rows.find((row) => row.scenario.startsWith(prefix))?.ratio;
  const judged = (value: number | undefined, ok: (v: number) => boolean, shown = value?.toFixed(2)) =>
    [value === undefined ? 'not run' : shown!, value === undefined ? undefined : ok(value)] as const;
  const deepFactor = rows.find((row) => row.p99Factor !== undefined)?.p99Factor;
  const batch = extra.batch?.activitiesPerSecond;
  const exportSeconds = extra.exported ? (extra.exported.seconds * 1_000_000) / extra.exported.rows : undefined;
  return [
    ['POST /activities >= 0.8 of the reference', ...judged(ratio('POST'), (v) => v >= 0.8)],
    ['uncached GET list (first page) >= 0.8', ...judged(ratio('GET /activities, first'), (v) => v >= 0.8)],
    ['uncached GET list (filtered) >= 0.8', ...judged(ratio('GET filtered'), (v) => v >= 0.8)],
    ['cached GET >= 1.5 of the reference’s uncached GET', ...judged(ratio('GET /activities served'), (v) => v >= 1.5)],
    ['cursor page past row 900,000: p99 <= 2x the first page’s', ...judged(deepFactor, (v) => v <= 2)],
    ['batch ingestion >= 50,000 activities/s', ...judged(batch, (v) => v >= 50_000, batch?.toLocaleString('en'))],
    [
      'export as CSV: <= 15 s per 1M rows, peak RSS <= 300 MB',
      ...judged(
        exportSeconds,
        (v) => v <= 15 && extra.exported!.peakMb <= 300,
        `${exportSeconds?.toFixed(1)} s per 1M rows, ${extra.exported?.peakMb} MB`,
      ),
    ],
    ['idle memory <= 150 MB', `${Math.round(extra.idleMb)} MB`, extra.idleMb <= 150],
  ];
}

function renderReport(
  rows: Row[],
  extra: {
    loadRate?: number;
    batch?: BatchResult;
    exported?: ExportResult;
    idleMb: number;
    nodes: Nodes;
    baseline?: BaselineSummary;
    ledger?: LedgerResult;
    postKey?: PostKeyResult;
    postOidc?: PostKeyResult;
    webhooks?: WebhookResult;
  },
): string {
  const cell = (m?: Measured) => (m ? `${m.rps.toLocaleString('en')} | ${m.p50} | ${m.p99}` : '- | - | -');
  const perRound = (ratios?: number[]) => ratios?.map((ratio) => ratio.toFixed(2)).join(', ') ?? '';
  const { nodes, baseline } = extra;
  const node =
    nodes.logbook === nodes.reference && !baseline
      ? `Node ${nodes.logbook}`
      : `Node: Logbook ${nodes.logbook}${baseline ? `, baseline ${nodes.baseline}` : ''}, reference ${nodes.reference}`;
  const title = baseline
    ? `Logbook vs its build of ${baseline.ref} (${baseline.sha.slice(0, 12)}, the baseline) and bare Fastify + pg`
    : 'Logbook vs bare Fastify + pg';
  const batch = (result: BatchResult) =>
    `${result.activitiesPerSecond.toLocaleString('en')} activities/s (rounds: ${result.rounds?.map((rate) => rate.toLocaleString('en')).join(', ')})`;
  const exported = (result?: ExportResult) =>
    result
      ? `${result.rows.toLocaleString('en')} rows, ${result.mb} MB in ${result.seconds.toFixed(1)} s, peak RSS ${result.peakMb} MB`
      : '-';
  const measures: [string, string, string][] = [
    ...(extra.batch
      ? [
          [
            'batch ingestion (POST /activities/batch, 1000 items, 4 connections)',
            batch(extra.batch),
            baseline?.batch ? `${batch(baseline.batch)}; ratio ${baseline.batch.ratio.toFixed(2)}` : '-',
          ] as [string, string, string],
        ]
      : []),
    ...(extra.exported
      ? [
          ['export of all rows as CSV', exported(extra.exported), exported(baseline?.exported)] as [
            string,
            string,
            string,
          ],
        ]
      : []),
    ...(
      [
        ['POST /activities with an API key, against the same user’s token (rounds: key/token)', extra.postKey],
        [
          'POST /activities with an identity provider’s token, against the same user’s Logbook token (rounds: provider/Logbook)',
          extra.postOidc,
        ],
      ] as const
    ).flatMap(([label, post]) =>
      post
        ? [
            [
              label,
              `${post.key.rps.toLocaleString('en')} req/s, p99 ${post.key.p99} ms against ${post.token.rps.toLocaleString('en')} req/s, p99 ${post.token.p99} ms: ${post.ratio.toFixed(2)} (${post.rounds.map((ratio) => ratio.toFixed(2)).join(', ')})`,
              '-',
            ] as [string, string, string],
          ]
        : [],
    ),
    ...(extra.webhooks
      ? [
          [
            'webhook delivery (20,000 activity.created events, written in batches, to a receiver that answers at once)',
            `${extra.webhooks.events.toLocaleString('en')} events in ${extra.webhooks.seconds.toFixed(1)} s: ${extra.webhooks.eventsPerSecond.toLocaleString('en')} events/s (${extra.webhooks.requests.toLocaleString('en')} requests)`,
            '-',
          ] as [string, string, string],
        ]
      : []),
    ...(extra.ledger
      ? ([
          [
            'ledger integration (records queued at once, integrated by the running service)',
            `${extra.ledger.leaves.toLocaleString('en')} leaves in ${extra.ledger.seconds.toFixed(1)} s: ${extra.ledger.leavesPerSecond.toLocaleString('en')} leaves/s`,
            '-',
          ],
          [
            `inclusion proof of an activity at ${extra.ledger.treeSize.toLocaleString('en')} leaves (GET /activities/:id/proof, one connection)`,
            `${extra.ledger.inclusion.rps.toLocaleString('en')} req/s, p50 ${extra.ledger.inclusion.p50} ms, p99 ${extra.ledger.inclusion.p99} ms`,
            '-',
          ],
          [
            `consistency proof at ${extra.ledger.treeSize.toLocaleString('en')} leaves (GET /ledger/consistency, one connection)`,
            `${extra.ledger.consistency.rps.toLocaleString('en')} req/s, p50 ${extra.ledger.consistency.p50} ms, p99 ${extra.ledger.consistency.p99} ms`,
            '-',
          ],
        ] as [string, string, string][])
      : []),
    [
      'idle memory of the app (RSS after start and warm-up)',
      `${Math.round(extra.idleMb)} MB`,
      baseline ? `${Math.round(baseline.idleMb)} MB` : '-',
    ],
    [
      'data set load (INSERT ... SELECT in PostgreSQL)',
      extra.loadRate === undefined
        ? 'reused from an earlier run'
        : `${Math.round(extra.loadRate).toLocaleString('en')} rows/s`,
      '-',
    ],
  ];
  const lines = [
    `${title}, ${ACTIVITIES.toLocaleString('en')} activities over ${USERS} users, ${CONNECTIONS} connections, ${DURATION} s each, the median of ${ROUNDS} rounds, cache: ${process.env.REDIS_URL ? 'Redis' : 'memory'}, ${node}, ${new Date().toISOString().slice(0, 10)}, load average at the end ${loadavg()[0].toFixed(1)}`,
    '',
    ...(baseline
      ? [
          '| scenario | Logbook req/s | p50 ms | p99 ms | baseline req/s | p50 ms | p99 ms | reference req/s | p50 ms | p99 ms | ratio to baseline | per round | ratio to reference | per round | note |',
          '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
          ...rows.map(
            (row) =>
              `| ${row.scenario} | ${cell(row.logbook)} | ${cell(row.baseline)} | ${cell(row.reference)} | ${row.baselineRatio?.toFixed(2) ?? '-'} | ${perRound(row.baselineRounds)} | ${row.ratio?.toFixed(2) ?? '-'} | ${perRound(row.rounds)} | ${row.note ?? ''} |`,
          ),
          '',
          'Each ratio is that of its median round (Logbook and the baseline, or Logbook and the reference, measured one after the other); Logbook’s and the reference’s columns come from the reference’s median round, the baseline’s from its own.',
          '',
          '| measure | Logbook | baseline |',
          '|---|---|---|',
          ...measures.map(([measure, own, base]) => `| ${measure} | ${own} | ${base} |`),
        ]
      : [
          '| scenario | Logbook req/s | p50 ms | p99 ms | reference req/s | p50 ms | p99 ms | ratio | ratio per round | note |',
          '|---|---|---|---|---|---|---|---|---|---|',
          ...rows.map(
            (row) =>
              `| ${row.scenario} | ${cell(row.logbook)} | ${cell(row.reference)} | ${row.ratio?.toFixed(2) ?? '-'} | ${perRound(row.rounds)} | ${row.note ?? ''} |`,
          ),
          '',
          '| measure | value |',
          '|---|---|',
          ...measures.map(([measure, own]) => `| ${measure} | ${own} |`),
        ]),
    '',
    '| target | measured | met |',
    '|---|---|---|',
    ...targets(rows, extra).map(
      ([target, measured, met]) => `| ${target} | ${measured} | ${met === undefined ? '-' : met ? 'yes' : 'no'} |`,
    ),
  ];
  return lines.join('\n');
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
