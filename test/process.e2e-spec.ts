import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Client } from 'pg';
import { ROOT, spawnLogbook } from './helpers/process';

/** Reaches the embedded server the way an operator would: its port from postmaster.pid, its password file. */
async function connectToEmbedded(dataDir: string): Promise<Client> {
  const port = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[3];
  const password = readFileSync(join(dataDir, 'logbook-superuser.password'), 'utf8');
  const client = new Client({ host: '127.0.0.1', port: Number(port), user: 'postgres', password, database: 'logbook' });
  await client.connect();
  return client;
}

function postmasterPid(dataDir: string): number {
  return Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the Logbook process on its embedded PostgreSQL', () => {
  let home: string;
  let dataDir: string;

  beforeAll(() => {
    // A folder no other OS user may enter, as a clone under a private home directory would be.
    home = mkdtempSync(join(tmpdir(), 'logbook-private-'));
    chmodSync(home, 0o700);
    dataDir = join(home, 'clone', '.data', 'pg');
  });
  afterAll(() => {
    rmSync(home, { recursive: true, force: true });
  });

  it('starts below a private folder, serves /health and /docs, and keeps its data across a restart', async () => {
    const first = await spawnLogbook({ EMBEDDED_PG_DIR: dataDir }).ready;
    expect((await fetch(`${first.baseUrl}/health`)).status).toBe(200);
    expect((await fetch(`${first.baseUrl}/docs`)).status).toBe(200);
    const client = await connectToEmbedded(dataDir);
    await client.query('CREATE TABLE restart_marker (note text)');
    await client.query(`INSERT INTO restart_marker VALUES ('kept')`);
    await client.end();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = await spawnLogbook({ EMBEDDED_PG_DIR: dataDir }).ready;
    const again = await connectToEmbedded(dataDir);
    expect((await again.query('SELECT note FROM restart_marker')).rows).toEqual([{ note: 'kept' }]);
    await again.end();
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('on SIGTERM finishes the request in flight, refuses new ones, stops PostgreSQL and exits 0', async () => {
    const running = await spawnLogbook({ EMBEDDED_PG_DIR: dataDir }).ready;
    const postgresPid = postmasterPid(dataDir);
    const { port } = new URL(running.baseUrl);

    // A request in flight: its body is still being sent when the signal arrives.
    const inFlight = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/api/v1/nowhere',
          headers: { 'content-type': 'application/json', 'content-length': '2' },
        },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.write('{');
      setTimeout(() => {
        running.child.kill('SIGTERM');
        setTimeout(() => req.end('}'), 300);
      }, 200);
    });

    const answered = await inFlight;
    expect(answered.status).toBe(404);
    expect(JSON.parse(answered.body).success).toBe(false);
    expect(await running.exited).toBe(0);
    await expect(fetch(`${running.baseUrl}/health`)).rejects.toThrow();
    expect(isAlive(postgresPid)).toBe(false);
    expect(running.output()).toMatch(/SIGTERM received[\s\S]*"msg":"stopped"/);
  });

  it('recovers from a crash that left its PostgreSQL running', async () => {
    const crashed = await spawnLogbook({ EMBEDDED_PG_DIR: dataDir }).ready;
    const orphan = postmasterPid(dataDir);
    crashed.child.kill('SIGKILL');
    await crashed.exited;
    expect(isAlive(orphan)).toBe(true);

    const recovered = await spawnLogbook({ EMBEDDED_PG_DIR: dataDir }).ready;
    expect((await fetch(`${recovered.baseUrl}/health`)).status).toBe(200);
    expect(recovered.output()).toMatch(/stopping a stale embedded PostgreSQL/);
    expect(isAlive(orphan)).toBe(false);
    recovered.child.kill('SIGTERM');
    expect(await recovered.exited).toBe(0);
  });

  it('starts no embedded server when DATABASE_URL is set', async () => {
    const unused = join(home, 'unused-pg');
    const running = await spawnLogbook({ DATABASE_URL: process.env.TEST_DATABASE_URL!, EMBEDDED_PG_DIR: unused }).ready;
    expect((await fetch(`${running.baseUrl}/health`)).status).toBe(200);
    expect(existsSync(unused)).toBe(false);
    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
  });

  it('applies migrations through DATABASE_MIGRATIONS_URL when it is set (a pooler stands at DATABASE_URL)', async () => {
    const { ready } = spawnLogbook({
      DATABASE_URL: process.env.TEST_DATABASE_URL!,
      DATABASE_MIGRATIONS_URL: 'postgres://nobody@127.0.0.1:1/unreachable',
    });
    await expect(ready).rejects.toThrow(/exited with 1 before listening[\s\S]*start-up failed/);
  });

  it.each([
    ['PORT', 'not-a-port'],
    ['LOG_LEVEL', 'shouting'],
    ['DATABASE_URL', 'mysql://nope'],
  ])('refuses to start on a bad %s, naming it', async (name, value) => {
    const { ready, child } = spawnLogbook({ EMBEDDED_PG_DIR: join(home, 'never'), [name]: value });
    await expect(ready).rejects.toThrow(new RegExp(`exited with 1[\\s\\S]*${name} must be`));
    expect(child.exitCode).toBe(1);
  });

  const asRoot = userInfo().uid === 0;
  const nobodyCanReach = (() => {
    try {
      execFileSync('setpriv', [
        '--reuid=nobody',
        '--regid=nogroup',
        '--clear-groups',
        'test',
        '-r',
        join(ROOT, 'src', 'main.ts'),
      ]);
      return true;
    } catch {
      return false;
    }
  })();
  // Run as root, the other cases above cover root; this one runs the same start-up as an unprivileged user.
  (asRoot && nobodyCanReach ? it : it.skip)('works as a normal (non-root) OS user too', async () => {
    const userHome = mkdtempSync(join(tmpdir(), 'logbook-user-'));
    const userData = join(userHome, 'clone', '.data', 'pg');
    mkdirSync(dirname(userData), { recursive: true });
    for (const dir of [userHome, join(userHome, 'clone'), dirname(userData)]) chownSync(dir, 65534, 65534);
    chmodSync(userHome, 0o700);
    try {
      const running = await spawnLogbook({ EMBEDDED_PG_DIR: userData, HOME: userHome }, [
        'setpriv',
        '--reuid=nobody',
        '--regid=nogroup',
        '--clear-groups',
      ]).ready;
      expect((await fetch(`${running.baseUrl}/health`)).status).toBe(200);
      running.child.kill('SIGTERM');
      expect(await running.exited).toBe(0);
    } finally {
      rmSync(userHome, { recursive: true, force: true });
    }
  });
});
