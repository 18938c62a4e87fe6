/**
 * `npm run bench`: measures Logbook against the bare Fastify + pg reference (bench/reference.js) in one run, on the
 * embedded PostgreSQL or DATABASE_URL's server, and writes the table to bench/results/.
 *
 *   npm run bench -- --activities 1000000 --users 1000 --duration 10 --connections 50
 *
 * Each comparison runs `--rounds` times (default 3), Logbook then the reference, and reports the round with the
 * median ratio; the cached read and batch ingestion report their median round. `--reuse` keeps the data set of an
 * earlier run when it has the same size (no reload). `--only post,cached` runs
 * some scenarios (post, first, filtered, deep, cached, batch, export). `--profile DIR` runs Logbook under
 * `node --cpu-prof` and prints where its CPU time went (bench/profile-summary.js).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import * as argon2 from 'argon2';
import { Client } from 'pg';
import { createLogger } from '../src/common/logging/logger';
import { loadSettings } from '../src/config/settings';
import { EmbeddedPostgres } from '../src/database/embedded-postgres';
import { migrateDatabase } from '../src/database/database-server';
import { summarizeProfile } from './profile-summary';

const ROOT = join(__dirname, '..');
const SECRET = 'logbook-bench-secret-0123456789-abcdefghijklmnop';
const PASSWORD = 'bench password';

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
  },
});
const SCENARIOS = ['post', 'first', 'filtered', 'deep', 'cached', 'batch', 'export'] as const;
const selected = new Set(flags.only ? flags.only.split(',') : SCENARIOS);
for (const name of selected) {
  if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`--only: unknown scenario ${name}`);
}
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
  note?: string;
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
    if (Number(rows[0].busy) === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}

async function main(): Promise<void> {
  const settings = loadSettings(process.env);
  let embedded: EmbeddedPostgres | undefined;
  let adminUrl = settings.databaseUrl;
  if (!adminUrl) {
    embedded = new EmbeddedPostgres({ dataDir: join(ROOT, '.data', 'bench-pg') });
    adminUrl = await embedded.start();
  }
  const children: ChildProcess[] = [];
  try {
    const reused = flags.reuse ? await existingDataSet(adminUrl, 'logbook_bench') : undefined;
    const url = reused ?? (await freshDatabase(adminUrl, 'logbook_bench'));
    await migrateDatabase(url, createLogger('warn'));
    const loadRate = reused ? undefined : await load(url);
    if (reused) await forgetEarlierRuns(reused);
    monitor = new Client({ connectionString: url });
    await monitor.connect();

    const logbook = await startServer('logbook', productionCommand(), url, 4101);
    const reference = await startServer('reference', `exec node ${join(ROOT, 'bench', 'reference.js')}`, url, 4102);
    children.push(logbook.child, reference.child);

    // Writes go to one user, reads to another, so the reads see a steady ~1,000 activities of their user.
    const writer = await signIn(logbook.url, 'bench3@example.com');
    const participant = await signIn(logbook.url, 'bench2@example.com');
    const admin = await signIn(logbook.url, 'bench1@example.com');
    await warmUp(logbook.url, participant);
    const idleMb = rssMb(logbook.child.pid!);

    const rows: Row[] = [];
    if (runs('post')) {
      const body = JSON.stringify({ action: 'BENCH_POST', metadata: { i: 1 } });
      rows.push(
        await compare('POST /activities', logbook.url, reference.url, '/api/v1/activities', '/activities', writer, {
          method: 'POST',
          body,
        }),
      );
    }
    let first: Row | undefined;
    if (runs('first') || runs('cached')) {
      first = await compare(
        'GET /activities, first page (uncached)',
        logbook.url,
        reference.url,
        '/api/v1/activities?limit=20',
        '/activities?limit=20',
        participant,
        {},
        true,
      );
      rows.push(first);
    }
    if (runs('filtered')) {
      const window = `start=${daysAgo(180)}&end=${daysAgo(90)}`;
      rows.push(
        await compare(
          'GET filtered (action + 90-day window, uncached)',
          logbook.url,
          reference.url,
          `/api/v1/activities?action=VIEW_COURSE&${window}`,
          `/activities?action=VIEW_COURSE&${window}`,
          participant,
          {},
          true,
        ),
      );
    }
    if (runs('deep')) {
      const deep = await deepCursor(logbook.url, admin);
      const adminFirst = await measure(`${logbook.url}/api/v1/activities?limit=20`, admin, {}, true);
      const deepRow = await compare(
        `GET by cursor past row ${deep.position.toLocaleString('en')} (ADMIN, all users)`,
        logbook.url,
        reference.url,
        `/api/v1/activities?limit=20&cursor=${encodeURIComponent(deep.cursor)}`,
        `/activities?all=1&limit=20&afterTimestamp=${encodeURIComponent(deep.timestamp)}&afterId=${deep.id}`,
        admin,
        {},
        true,
      );
      deepRow.p99Factor = deepRow.logbook.p99 / adminFirst.p99;
      deepRow.note = `p99 ${deepRow.logbook.p99} ms vs ADMIN first page p99 ${adminFirst.p99} ms (${adminFirst.rps.toLocaleString('en')} req/s): ${deepRow.p99Factor.toFixed(2)}x`;
      rows.push(deepRow);
    }
    if (runs('cached') && first) {
      log('GET /activities served from the cache');
      const cached = await medianOf(
        () => measure(`${logbook.url}/api/v1/activities?limit=20`, participant, {}),
        (measured) => measured.rps,
      );
      rows.push({
        scenario: 'GET /activities served from the cache',
        logbook: cached,
        reference: first.reference,
        ratio: cached.rps / first.reference!.rps,
        rounds: cached.rounds.map((rps) => rps / first.reference!.rps),
        note: 'against the reference’s uncached GET (its median round)',
      });
    }

    const batch = runs('batch')
      ? await medianOf(
          () => batchIngestion(logbook.url, writer),
          (result) => result.activitiesPerSecond,
        )
      : undefined;
    const exported = runs('export') ? await exportAll(logbook.url, admin, logbook.child.pid!) : undefined;

    const report = renderReport(rows, { loadRate, batch, exported, idleMb });
    process.stdout.write(`\n${report}\n`);
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    writeFileSync(
      join(ROOT, 'bench', 'results', `${stamp}.json`),
      JSON.stringify({ flags, rows, loadRate, batch, exported, idleMb }, null, 2),
    );
    // Only a whole, unprofiled run is the latest table.
    if (!flags.only && !flags.profile) writeFileSync(join(ROOT, 'bench', 'results', 'latest.md'), `${report}\n`);
  } finally {
    await monitor?.end().catch(() => undefined);
    await Promise.all(children.map(stop));
    await embedded?.stop();
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
 * Logbook is started as `npm run start:prod` starts it (package.json's script, so any setting it makes holds here
 * too), under `exec` so that the process measured is Node itself; `--profile` adds `node --cpu-prof`.
 */
function productionCommand(): string {
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts;
  const script = scripts['start:prod'];
  const parts = /^((?:\S+=\S+ )*)exec node (.+)$/.exec(script);
  if (!parts) throw new Error(`start:prod is expected to be [VAR=value ...] exec node ...: ${script}`);
  const profiling = flags.profile ? `--cpu-prof --cpu-prof-dir=${flags.profile} ` : '';
  return `${parts[1]}exec node ${profiling}${parts[2]}`;
}

async function startServer(
  name: string,
  command: string,
  url: string,
  port: number,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn('sh', ['-c', command], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: url,
      PORT: String(port),
      JWT_SECRET: SECRET,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      REDIS_URL: process.env.REDIS_URL ?? '',
      // The load comes from one address at thousands of requests a second: the limit stays on (its cost is
      // measured) but high enough never to refuse one.
      RATE_LIMIT_MAX: '100000000',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i += 1) {
    try {
      const res = await fetch(`${base}${name === 'logbook' ? '/health' : '/activities'}`);
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

async function signIn(base: string, email: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  const body = (await res.json()) as { data: { accessToken: string } };
  return body.data.accessToken;
}

async function warmUp(base: string, token: string): Promise<void> {
  await autocannon({
    url: `${base}/api/v1/activities`,
    connections: 10,
    duration: 2,
    headers: { authorization: `Bearer ${token}` },
  });
}

/** `uncached`: the request asks for a fresh read (Cache-Control: no-cache), so Logbook's list cache does not answer. */
async function measure(
  url: string,
  token: string,
  options: { method?: 'POST'; body?: string },
  uncached = false,
): Promise<Measured> {
  await settle();
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
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
  };
}

/**
 * `ROUNDS` rounds of Logbook, then the reference, one after the other. The row is the round with the median ratio:
 * its two measurements were taken side by side, under the same conditions of the machine.
 */
async function compare(
  scenario: string,
  logbookBase: string,
  referenceBase: string,
  logbookPath: string,
  referencePath: string,
  token: string,
  options: { method?: 'POST'; body?: string },
  uncached = false,
): Promise<Row> {
  log(scenario);
  const median = await medianOf(
    async () => {
      const logbook = await measure(`${logbookBase}${logbookPath}`, token, options, uncached);
      const reference = await measure(`${referenceBase}${referencePath}`, token, options);
      return { logbook, reference, ratio: logbook.rps / reference.rps };
    },
    (pair) => pair.ratio,
  );
  return { scenario, logbook: median.logbook, reference: median.reference, ratio: median.ratio, rounds: median.rounds };
}

/** The median of `ROUNDS` runs of `run`, by `value`. */
async function medianOf<T>(run: () => Promise<T>, value: (result: T) => number): Promise<T & { rounds: number[] }> {
  const results: T[] = [];
  for (let round = 0; round < ROUNDS; round++) results.push(await run());
  const median = [...results].sort((a, b) => value(a) - value(b))[Math.floor(results.length / 2)];
  return { ...median, rounds: results.map(value) };
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

async function batchIngestion(base: string, token: string): Promise<{ activitiesPerSecond: number }> {
  log('batch ingestion');
  await settle();
  const items = Array.from({ length: 1000 }, (_, index) => ({ action: 'BENCH_BATCH', metadata: { index } }));
  const result = await autocannon({
    url: `${base}/api/v1/activities/batch`,
    connections: 4,
    duration: DURATION,
    method: 'POST',
    body: JSON.stringify({ items }),
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  });
  return {
    activitiesPerSecond: Math.round(((result.requests.total - result.non2xx) * 1000) / (result.duration || DURATION)),
  };
}

async function exportAll(
  base: string,
  admin: string,
  pid: number,
): Promise<{ rows: number; seconds: number; peakMb: number; mb: number }> {
  log('export of all rows as CSV');
  await settle();
  let peak = rssMb(pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 50);
  const started = Date.now();
  const res = await fetch(`${base}/api/v1/activities/export?format=csv`, {
    headers: { authorization: `Bearer ${admin}` },
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

/** Issue 6's targets, each with the figure it is judged by. */
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
    batch?: { activitiesPerSecond: number; rounds?: number[] };
    exported?: { rows: number; seconds: number; peakMb: number; mb: number };
    idleMb: number;
  },
): string {
  const cell = (m?: Measured) => (m ? `${m.rps.toLocaleString('en')} | ${m.p50} | ${m.p99}` : '- | - | -');
  const lines = [
    `Logbook vs bare Fastify + pg, ${ACTIVITIES.toLocaleString('en')} activities over ${USERS} users, ${CONNECTIONS} connections, ${DURATION} s each, the median of ${ROUNDS} rounds, cache: ${process.env.REDIS_URL ? 'Redis' : 'memory'}, ${new Date().toISOString().slice(0, 10)}, load average at the end ${loadavg()[0].toFixed(1)}`,
    '',
    '| scenario | Logbook req/s | p50 ms | p99 ms | reference req/s | p50 ms | p99 ms | ratio | ratio per round | note |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (row) =>
        `| ${row.scenario} | ${cell(row.logbook)} | ${cell(row.reference)} | ${row.ratio?.toFixed(2) ?? '-'} | ${row.rounds?.map((ratio) => ratio.toFixed(2)).join(', ') ?? ''} | ${row.note ?? ''} |`,
    ),
    '',
    '| measure | value |',
    '|---|---|',
    ...(extra.batch
      ? [
          `| batch ingestion (POST /activities/batch, 1000 items, 4 connections) | ${extra.batch.activitiesPerSecond.toLocaleString('en')} activities/s (rounds: ${extra.batch.rounds?.map((rate) => rate.toLocaleString('en')).join(', ')}) |`,
        ]
      : []),
    ...(extra.exported
      ? [
          `| export of all rows as CSV | ${extra.exported.rows.toLocaleString('en')} rows, ${extra.exported.mb} MB in ${extra.exported.seconds.toFixed(1)} s, peak RSS ${extra.exported.peakMb} MB |`,
        ]
      : []),
    `| idle memory of the app (RSS after start and warm-up) | ${Math.round(extra.idleMb)} MB |`,
    `| data set load (INSERT ... SELECT in PostgreSQL) | ${extra.loadRate === undefined ? 'reused from an earlier run' : `${Math.round(extra.loadRate).toLocaleString('en')} rows/s`} |`,
    '',
    '| target (issue 6) | measured | met |',
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
