import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, IncomingHttpHeaders, request } from 'node:http';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { EmbeddedPostgres } from '../../src/database/embedded-postgres';
import { ROOT, RunningLogbook, spawnLogbook } from '../helpers/process';
import { TEST_LEDGER_KEY } from '../helpers/settings';

/**
 * What the fault scenarios share: servers of their own on spare ports (never the machine's), Logbook's production
 * build as a child process, a lean HTTP client that never throws, and the tally each scenario prints.
 */

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error())));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `check` every `everyMs` until it holds; throws after `timeoutMs`. Returns how long it took. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000, everyMs = 50) {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
  return Date.now() - started;
}

/** An embedded PostgreSQL in a temporary directory; a restart keeps its port, so Logbook's DATABASE_URL stays valid. */
export class FaultPostgres {
  private constructor(
    private readonly dir: string,
    readonly server: EmbeddedPostgres,
    readonly url: string,
  ) {}

  static async start(): Promise<FaultPostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'logbook-faults-pg-'));
    const server = new EmbeddedPostgres({ dataDir: join(dir, 'pg') });
    return new FaultPostgres(dir, server, await server.start());
  }

  /** An immediate shutdown, as after a crash: no checkpoint, sessions cut; the next start recovers from the WAL. */
  async crash(): Promise<void> {
    const pid = Number(readFileSync(join(this.server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGQUIT');
    await waitFor('PostgreSQL to exit', () => !isAlive(pid), 15_000);
  }

  async sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
    const client = new Client({ connectionString: this.url });
    // Should the server go away meanwhile, the query fails; the client's error event must not end the test run.
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query(text, params)).rows as T[];
    } finally {
      await client.end();
    }
  }

  async dispose(): Promise<void> {
    await this.server.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `redis-server` on a spare port, without persistence; it can be killed, frozen (SIGSTOP) and started again. */
export class FaultRedis {
  private child?: ChildProcess;

  private constructor(readonly port: number) {}

  static async start(): Promise<FaultRedis> {
    const redis = new FaultRedis(await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    await waitFor('redis-server to answer PING', () => this.ping(), 10_000);
  }

  /** Gone at once, as after a crash: connections are reset and new ones refused. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  }

  /** Frozen: connections stay open and nothing answers, as with a hung server or a network partition. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port: this.port });
      const done = (up: boolean) => {
        socket.destroy();
        resolve(up);
      };
      socket.setTimeout(500, () => done(false));
      socket.once('error', () => done(false));
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    });
  }
}

const JWT_SECRET = 'logbook-fault-suite-secret-0123456789abcdef';

/** Logbook's production build (dist/src/main.js, made by `nest build`) as its own process, as in production. */
export async function startLogbook(env: Record<string, string>): Promise<RunningLogbook> {
  if (!existsSync(join(ROOT, 'dist', 'src', 'main.js'))) {
    throw new Error('dist/src/main.js is missing: run `npm run build` first (`npm run test:faults` does)');
  }
  const { ready } = spawnLogbook(
    {
      NODE_ENV: 'production',
      JWT_SECRET,
      LEDGER_SIGNING_KEY: TEST_LEDGER_KEY,
      LOG_LEVEL: 'info',
      RATE_LIMIT_MAX: '0',
      ...env,
    },
    [],
    'build',
  );
  return ready;
}

/**
 * SIGTERM, then the exit code (SIGKILL after `timeoutMs`, which then reads as null). Logbook's log is kept in
 * `$TMPDIR/logbook-faults-<name>.log` for a look after a failure.
 */
export async function stopLogbook(
  logbook: RunningLogbook | undefined,
  name: string,
  timeoutMs = 20_000,
): Promise<number | null> {
  if (!logbook) return null;
  try {
    if (logbook.child.exitCode !== null || logbook.child.signalCode !== null) return logbook.child.exitCode;
    logbook.child.kill('SIGTERM');
    const timer = setTimeout(() => logbook.child.kill('SIGKILL'), timeoutMs);
    try {
      return await logbook.exited;
    } finally {
      clearTimeout(timer);
    }
  } finally {
    writeFileSync(join(tmpdir(), `logbook-faults-${name}.log`), logbook.output());
  }
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: any;
  /** From the call to the last byte of the answer (or the error). */
  ms: number;
  /** A transport failure instead of an answer: `ECONNREFUSED`, `ECONNRESET`, `timeout`, ... */
  error?: string;
}

export interface SendOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** A keep-alive HTTP/1.1 client, light enough to load the server from the same two cores. It never throws. */
export class LoadClient {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(baseUrl: string, sockets = 256) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port);
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  }

  send(method: string, path: string, options: SendOptions = {}): Promise<Answer> {
    const started = performance.now();
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: Record<string, string | number> = { accept: 'application/json', ...options.headers };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    return new Promise<Answer>((resolve) => {
      let settled = false;
      const settle = (answer: Omit<Answer, 'ms'>) => {
        if (settled) return;
        settled = true;
        resolve({ ...answer, ms: performance.now() - started });
      };
      const req = request({ agent: this.agent, host: this.host, port: this.port, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error: NodeJS.ErrnoException) =>
          settle({ status: 0, headers: {}, body: null, error: errorName(error) }),
        );
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : null;
          } catch {
            // not JSON: kept as text
          }
          settle({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      });
      req.setTimeout(options.timeoutMs ?? 30_000, () => {
        settle({ status: 0, headers: {}, body: null, error: 'timeout' });
        req.destroy();
      });
      req.on('error', (error: NodeJS.ErrnoException) =>
        settle({ status: 0, headers: {}, body: null, error: errorName(error) }),
      );
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function errorName(error: NodeJS.ErrnoException): string {
  return error.code ?? error.message;
}

/** Counts of one scenario: every answer by status, every transport failure by name, and the longest wait. */
export class Tally {
  sent = 0;
  longestMs = 0;
  readonly statuses = new Map<number, number>();
  readonly errors = new Map<string, number>();

  record(answer: Answer): void {
    this.sent += 1;
    this.longestMs = Math.max(this.longestMs, answer.ms);
    if (answer.error) this.errors.set(answer.error, (this.errors.get(answer.error) ?? 0) + 1);
    else this.statuses.set(answer.status, (this.statuses.get(answer.status) ?? 0) + 1);
  }

  count(status: number): number {
    return this.statuses.get(status) ?? 0;
  }

  get serverErrors(): number {
    let total = 0;
    for (const [status, count] of this.statuses) if (status >= 500) total += count;
    return total;
  }

  get failures(): number {
    let total = 0;
    for (const count of this.errors.values()) total += count;
    return total;
  }

  /** Statuses other than `expected`, as `{ status: count }`. */
  unexpected(...expected: number[]): Record<number, number> {
    return Object.fromEntries([...this.statuses].filter(([status]) => !expected.includes(status)));
  }

  /** The scenario's counts on one line, so the CI log shows them. */
  print(scenario: string, counts: Record<string, number | string>): void {
    const statuses = [...this.statuses]
      .sort(([a], [b]) => a - b)
      .map(([status, count]) => `${status}:${count}`)
      .join(' ');
    const errors = [...this.errors].map(([name, count]) => `${name}:${count}`).join(' ') || 'none';
    const fields = Object.entries(counts)
      .map(([name, value]) => `${name}=${value}`)
      .join(' ');
    process.stdout.write(
      `[faults] ${scenario}: sent=${this.sent} ${fields} longestMs=${Math.round(this.longestMs)} ` +
        `statuses={${statuses}} transportErrors={${errors}}\n`,
    );
  }
}

/** `count` workers, each running `work` again and again while `running()` holds. */
export async function runWorkers(count: number, running: () => boolean, work: (worker: number) => Promise<void>) {
  await Promise.all(
    Array.from({ length: count }, async (_, worker) => {
      while (running()) await work(worker);
    }),
  );
}

export interface LoadUser {
  id: number;
  token: string;
}

/** Registers `count` users (argon2 is slow by design: once each), returning their access tokens. */
export async function registerUsers(client: LoadClient, count: number, label: string): Promise<LoadUser[]> {
  const users: LoadUser[] = [];
  for (let i = 0; i < count; i += 1) {
    const email = `${label}-${i}-${Date.now().toString(36)}@example.com`;
    const answer = await client.send('POST', '/api/v1/auth/register', {
      body: { email, password: 'correct horse battery', name: `${label} ${i}` },
    });
    if (answer.status !== 201) throw new Error(`register failed: ${answer.status} ${JSON.stringify(answer.body)}`);
    users.push({ id: answer.body.data.user.id, token: answer.body.data.accessToken });
  }
  return users;
}

/** A new activity that names the run and its place in it, so the rows of one run can be counted afterwards. */
export function activityBody(run: string, seq: number, extra: Record<string, unknown> = {}) {
  return { action: 'FAULT_SUITE_WRITE', metadata: { run, seq, ...extra }, context: { source: 'fault-suite' } };
}

/** Whether `answer` is the error envelope of `status`, with a Retry-After header where one is due. */
export function isErrorEnvelope(answer: Answer, status: number): boolean {
  const body = answer.body;
  return (
    answer.status === status &&
    body?.success === false &&
    body.error?.code === `HTTP_${status}` &&
    typeof body.error.message === 'string' &&
    body.requestId === answer.headers['x-request-id'] &&
    (status !== 503 && status !== 429 ? true : Number(answer.headers['retry-after']) >= 1)
  );
}
