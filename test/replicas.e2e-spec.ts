import { randomInt } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  cpSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../src/common/logging/logger';
import { migrateDatabase } from '../src/database/database-server';
import { EmbeddedPostgres } from '../src/database/embedded-postgres';
import { ReadReplicas } from '../src/database/read-replicas';
import { decodeWalPosition } from '../src/database/wal-position';
import { RedisService } from '../src/redis/redis.service';
import { startTestApp, TestApp } from './helpers/app';
import { createUser, signIn, sql, TestUser } from './helpers/factories';
import { http, RequestOptions } from './helpers/http';

/**
 * A real streaming replica, made from the embedded PostgreSQL binaries alone (they have no pg_basebackup): a cold
 * copy of the primary's data directory, started as a standby that streams from the primary. Reads are proven to be
 * served by the replica by rows it cannot have: written straight into the primary while the replica's replay is
 * paused. The app reaches the replica through a TCP proxy that the test can cut, as a network would.
 */
describe('read replicas (DATABASE_REPLICA_URLS)', () => {
  let root: string;
  let primary: EmbeddedPostgres;
  let replica: EmbeddedPostgres;
  let primaryUrl: string;
  let replicaUrl: string;
  let proxy: TcpProxy;
  let app: TestApp;
  let replicas: ReadReplicas;
  let owner: TestUser;
  let other: TestUser;
  let admin: TestUser;
  let ownActivity: { id: number };
  let othersActivity: { id: number };

  const api = (path: string, who: TestUser, options: RequestOptions = {}) =>
    http(path, { ...options, token: who.accessToken }, app.baseUrl);
  /** A list read from the database, not from the list cache. */
  const freshList = (who: TestUser, query = 'limit=100') =>
    api(`/api/v1/activities?${query}`, who, { headers: { 'cache-control': 'no-cache' } });
  const idsOf = (res: { body: { data: { id: number }[] } }) => res.body.data.map((item) => item.id);
  const exportedIds = async (who: TestUser) =>
    (await api('/api/v1/activities/export?format=ndjson', who)).text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { id: number }).id);

  /** Rows only the primary has while the replica's replay is paused: the app did not write them. */
  async function hiddenActivity(user: TestUser): Promise<number> {
    const [row] = await sql<{ id: string }>(
      `INSERT INTO activities (user_id, action, actor_name, actor_email) VALUES ($1, 'HIDDEN', 'x', 'x@example.com')
       RETURNING id`,
      [user.id],
      primaryUrl,
    );
    return Number(row.id);
  }
  async function hiddenUser(): Promise<number> {
    const [row] = await sql<{ id: string }>(
      `INSERT INTO users (email, name, password_hash) VALUES ($1, 'Hidden', 'x') RETURNING id`,
      [`hidden-${randomInt(1e9)}@example.com`],
      primaryUrl,
    );
    return Number(row.id);
  }
  async function hiddenAuditEntry(): Promise<number> {
    const [row] = await sql<{ id: string }>(
      `INSERT INTO audit_logs (action, entity_type, new_values) VALUES ('LOGIN_FAILED', 'Auth', '{"email":"hidden"}')
       RETURNING id`,
      [],
      primaryUrl,
    );
    return Number(row.id);
  }

  async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await sleep(20);
    }
  }

  /** Until the app knows that its replica has replayed everything the primary has. */
  async function caughtUp(): Promise<void> {
    const target = await replicas.primaryPosition();
    await until(() => {
      const [state] = replicas.status();
      return state.up && state.replayed >= target;
    }, 'the replica has caught up');
  }

  async function pauseReplay(): Promise<void> {
    await sql('SELECT pg_wal_replay_pause()', [], replicaUrl);
    await until(
      async () => (await sql('SELECT pg_get_wal_replay_pause_state() AS state', [], replicaUrl))[0].state === 'paused',
      'replay is paused',
    );
  }
  const resumeReplay = () => sql('SELECT pg_wal_replay_resume()', [], replicaUrl);
  const onReplica = async (text: string, params: unknown[]) => (await sql(text, params, replicaUrl)).length;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'logbook-replicas-'));
    primary = new EmbeddedPostgres({ dataDir: join(root, 'primary') });
    await primary.start();
    // initdb's defaults stream already (wal_level=replica, max_wal_senders=10, pg_hba allows replication from
    // 127.0.0.1); the WAL the copy starts from must stay until the replica has fetched it.
    await sql(`ALTER SYSTEM SET wal_keep_size = '256MB'`, [], primary.url('postgres'));
    await primary.stop();
    const replicaDir = join(root, 'replica');
    cpSync(join(root, 'primary'), replicaDir, { recursive: true });
    chmodSync(replicaDir, 0o700);
    // Owned as the primary's is (by the postgres OS user, where root runs PostgreSQL as that user).
    const { uid, gid } = statSync(join(root, 'primary'));
    for (const path of [
      replicaDir,
      ...readdirSync(replicaDir, { recursive: true }).map((entry) => join(replicaDir, String(entry))),
    ]) {
      chownSync(path, uid, gid);
    }
    primaryUrl = await primary.start();
    const { port, password } = new URL(primaryUrl);
    writeFileSync(join(replicaDir, 'standby.signal'), '');
    appendFileSync(
      join(replicaDir, 'postgresql.auto.conf'),
      `primary_conninfo = 'host=127.0.0.1 port=${port} user=postgres password=${decodeURIComponent(password)}'\n`,
    );
    replica = new EmbeddedPostgres({ dataDir: replicaDir });
    replicaUrl = await replica.start();
    expect((await sql('SELECT pg_is_in_recovery() AS standby', [], replicaUrl))[0].standby).toBe(true);

    await migrateDatabase(primaryUrl, createLogger('silent'));
    // Ids of their own: the list cache and session revocations in a Redis shared with other tests name user ids.
    await sql(`ALTER TABLE users ALTER COLUMN id RESTART WITH ${randomInt(1e9, 2e9)}`, [], primaryUrl);

    // The replica is unreachable when the app starts: it must start anyway, and let the replica join later.
    proxy = new TcpProxy(Number(new URL(replicaUrl).port));
    await proxy.reservePort();
    const viaProxy = new URL(replicaUrl);
    viaProxy.port = String(proxy.port);
    app = await startTestApp({ DATABASE_URL: primaryUrl, DATABASE_REPLICA_URLS: viaProxy.toString() });
    replicas = app.app.get(ReadReplicas);
  }, 60_000);

  afterAll(async () => {
    await resumeReplay().catch(() => undefined);
    // The proxy first: a connection it froze would hold the app's pool open.
    await proxy?.cut();
    await app?.close();
    await replica?.stop();
    await primary?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('starts while its replica is unreachable, reads from the primary, and uses the replica once it answers', async () => {
    expect(replicas.status()).toEqual([expect.objectContaining({ up: false })]);
    expect(app.logs.map((line) => line.msg)).toContainEqual(
      expect.stringMatching(/^replica 1 \(127\.0\.0\.1:\d+\) does not answer at start-up/),
    );
    owner = await createUser({}, app.baseUrl);
    other = await createUser({}, app.baseUrl);
    const registered = await createUser({}, app.baseUrl);
    await sql(`UPDATE users SET role = 'ADMIN' WHERE id = $1`, [registered.id], primaryUrl);
    admin = await signIn(registered.email, registered.password, app.baseUrl);
    const created = await api('/api/v1/activities', owner, { method: 'POST', body: { action: 'FIRST' } });
    expect(created.status).toBe(201);
    ownActivity = created.body.data;
    othersActivity = (await api('/api/v1/activities', other, { method: 'POST', body: { action: 'OTHER' } })).body.data;
    expect(idsOf(await freshList(owner))).toEqual([ownActivity.id]);

    await proxy.open();
    await caughtUp();
    expect(app.logs.map((line) => line.msg)).toContainEqual(expect.stringMatching(/^replica 1 .* serves reads$/));
  });

  it('serves reads from the replica, which lacks what it has not replayed', async () => {
    await caughtUp();
    await pauseReplay();
    const [ownersHidden, othersHidden, userHidden, entryHidden] = [
      await hiddenActivity(owner),
      await hiddenActivity(other),
      await hiddenUser(),
      await hiddenAuditEntry(),
    ];
    // The primary has them; the replica does not.
    expect(
      await sql('SELECT id FROM activities WHERE id = ANY($1)', [[ownersHidden, othersHidden]], primaryUrl),
    ).toHaveLength(2);
    expect(await onReplica('SELECT id FROM activities WHERE id = ANY($1)', [[ownersHidden, othersHidden]])).toBe(0);

    // Activities: a list (fresh from the database), one activity, an export; an ADMIN's too.
    expect(idsOf(await freshList(owner))).toEqual([ownActivity.id]);
    expect(idsOf(await freshList(other))).toEqual([othersActivity.id]);
    expect((await api(`/api/v1/activities/${ownersHidden}`, owner)).status).toBe(404);
    expect(await exportedIds(owner)).toEqual([ownActivity.id]);
    expect(idsOf(await freshList(admin))).not.toContain(ownersHidden);
    expect((await api(`/api/v1/activities/${othersHidden}`, admin)).status).toBe(404);

    // Users and the audit trail.
    const users = await api('/api/v1/users?limit=100', admin);
    expect(users.status).toBe(200);
    expect(idsOf(users)).toEqual(expect.arrayContaining([owner.id, other.id, admin.id]));
    expect(idsOf(users)).not.toContain(userHidden);
    expect((await api(`/api/v1/users/${userHidden}`, admin)).status).toBe(404);
    const entries = await api('/api/v1/audit-logs?limit=100', admin);
    expect(entries.status).toBe(200);
    expect(idsOf(entries).length).toBeGreaterThan(0);
    expect(idsOf(entries)).not.toContain(entryHidden);
    expect((await api(`/api/v1/audit-logs/${entryHidden}`, admin)).status).toBe(404);
    const [{ count: onPrimary }] = await sql('SELECT count(*)::int AS count FROM audit_logs', [], primaryUrl);
    const verified = await api('/api/v1/audit-logs/verify', admin);
    expect(verified.body.data).toEqual({ valid: true, checked: onPrimary - 1, firstInvalidId: null });
  });

  it("answers a caller's reads from the primary right after its own write, while the replica lags", async () => {
    // Replay is still paused: the replica has none of the writes below.
    const hidden = (
      await sql('SELECT id FROM activities WHERE action = $1 AND user_id = $2', ['HIDDEN', owner.id], primaryUrl)
    )[0];
    const created = await api('/api/v1/activities', owner, { method: 'POST', body: { action: 'SECOND' } });
    expect(created.status).toBe(201);
    const second = created.body.data.id as number;
    expect(await onReplica('SELECT id FROM activities WHERE id = $1', [second])).toBe(0);
    const redis = app.app.get(RedisService);
    if (redis.enabled) {
      // Where every instance finds it: past what the replica has replayed, for a few minutes.
      const key = `${redis.namespace}:wal:${replicas.cluster}:user:${owner.id}`;
      expect(decodeWalPosition(await redis.client!.get(key))).toBeGreaterThan(replicas.status()[0].replayed);
      expect(await redis.client!.pTTL(key)).toBeGreaterThan(60_000);
    }

    // The writer's reads see its write, so they came from the primary (which also has the hidden row).
    const list = await api('/api/v1/activities?limit=100', owner);
    expect(list.headers.get('x-cache')).toBe('MISS');
    expect(idsOf(list)).toEqual(expect.arrayContaining([ownActivity.id, second, Number(hidden.id)]));
    expect((await api(`/api/v1/activities/${second}`, owner)).status).toBe(200);
    expect(await exportedIds(owner)).toEqual(expect.arrayContaining([second]));
    // The page cached after the write is the fresh one.
    const again = await api('/api/v1/activities?limit=100', owner);
    expect(again.headers.get('x-cache')).toBe('HIT');
    expect(idsOf(again)).toContain(second);

    // Another user's reads still go to the replica (which lacks its hidden row): the choice is per caller.
    expect(idsOf(await freshList(other))).toEqual([othersActivity.id]);

    // Every ADMIN list is fresh after any activity write (docs/API.md, Caching), so it must see the owner's write.
    const adminList = await api('/api/v1/activities?limit=100', admin);
    expect(adminList.headers.get('x-cache')).toBe('MISS');
    expect(idsOf(adminList)).toContain(second);

    // An ADMIN's change of another user's activity makes that user's lists fresh, and it sees the change, though
    // it wrote nothing itself: the list that fills its new cache generation is read from the primary.
    const cachedBefore = await api('/api/v1/activities?limit=100', other);
    expect(cachedBefore.body.data).toEqual([expect.objectContaining({ id: othersActivity.id, status: 'PENDING' })]);
    const done = { method: 'PATCH', body: { status: 'DONE' } };
    expect((await api(`/api/v1/activities/${othersActivity.id}/status`, admin, done)).status).toBe(200);
    const afterChange = await api('/api/v1/activities?limit=100', other);
    expect(afterChange.headers.get('x-cache')).toBe('MISS');
    expect(afterChange.body.data.find((item: { id: number }) => item.id === othersActivity.id).status).toBe('DONE');

    // The ADMIN's own writes: its reads of users and of the audit trail see them.
    expect((await api(`/api/v1/users/${other.id}`, admin, { method: 'PATCH', body: { name: 'Renamed' } })).status).toBe(
      200,
    );
    expect((await api(`/api/v1/users/${other.id}`, admin)).body.data.name).toBe('Renamed');
    const entries = await api(`/api/v1/audit-logs?entity_type=User&entity_id=${other.id}`, admin);
    expect(entries.body.data.map((entry: { action: string }) => entry.action)).toEqual(['UPDATE', 'CREATE']);
    const [{ count: onPrimary }] = await sql('SELECT count(*)::int AS count FROM audit_logs', [], primaryUrl);
    expect((await api('/api/v1/audit-logs/verify', admin)).body.data).toMatchObject({
      valid: true,
      checked: onPrimary,
    });

    // A new account reads itself at once.
    const newcomer = await createUser({}, app.baseUrl);
    expect((await api('/api/v1/auth/me', newcomer)).body.data.id).toBe(newcomer.id);
    expect(await onReplica('SELECT id FROM users WHERE id = $1', [newcomer.id])).toBe(0);
  });

  it('sends the writer back to the replica once it has caught up, not after some fixed time', async () => {
    await resumeReplay();
    await caughtUp();
    await pauseReplay();
    const hidden = await hiddenActivity(owner);
    const ids = idsOf(await freshList(owner));
    expect(ids.length).toBeGreaterThanOrEqual(3);
    expect(ids).not.toContain(hidden);
    await resumeReplay();
  });

  it('answers every read when the replica stops answering, and uses it again when it is back', async () => {
    await caughtUp();
    await pauseReplay();
    const hidden = await hiddenActivity(owner);
    expect(idsOf(await freshList(owner))).not.toContain(hidden);

    // The network to the replica breaks: open connections die, new ones are refused. Reads right after it, before
    // any poll has noticed, are answered by the primary, which has the hidden row.
    await proxy.cut();
    expect(idsOf(await freshList(owner))).toContain(hidden);
    expect((await api(`/api/v1/activities/${hidden}`, owner)).status).toBe(200);
    expect(await exportedIds(owner)).toContain(hidden);
    expect((await api('/api/v1/users?limit=1', admin)).status).toBe(200);
    expect((await api('/api/v1/audit-logs?limit=1', admin)).status).toBe(200);
    expect((await api('/api/v1/audit-logs/verify', admin)).body.data.valid).toBe(true);
    await until(() => !replicas.status()[0].up, 'the replica is reported down');
    expect(idsOf(await freshList(owner))).toContain(hidden);

    await proxy.open();
    await until(() => replicas.status()[0].up, 'the replica serves again');
    expect(idsOf(await freshList(owner))).not.toContain(hidden);

    // The replica hangs: its connections stay open but nothing comes back (a dead host's connections can hang for
    // many minutes). A read on it is cut once the replica misses its poll, and the primary answers it.
    // Twelve reads at once: some take the pool's idle connections (cut when the poll misses), the others must open
    // new ones, whose connect hangs too; none waits longer than a poll for a connection (checkoutWithin).
    proxy.freeze();
    const started = Date.now();
    const reads = await Promise.all(Array.from({ length: 12 }, () => freshList(owner)));
    for (const read of reads) expect(idsOf(read)).toContain(hidden);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(replicas.status()[0].up).toBe(false);
    expect(idsOf(await freshList(owner))).toContain(hidden);
    await proxy.cut();
    await proxy.open();
    await until(() => replicas.status()[0].up, 'the replica serves after hanging');
    expect(idsOf(await freshList(owner))).not.toContain(hidden);

    // The replica's server itself stops.
    await replica.stop();
    expect(idsOf(await freshList(owner))).toContain(hidden);
    expect((await api('/api/v1/users?limit=1', admin)).status).toBe(200);
    expect(await exportedIds(owner)).toContain(hidden);
    expect(app.logs.filter((line) => line.level === 'error')).toEqual([]);
  });
});

/**
 * Forwards 127.0.0.1:port to the replica's port. Cut: open connections die and new ones are refused. Frozen: every
 * byte is dropped, both ways, on open connections and new ones (until cut).
 */
class TcpProxy {
  port = 0;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private frozen = false;

  constructor(private readonly target: number) {}

  /** A free port for the proxy, not listened on yet. */
  async reservePort(): Promise<void> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    this.port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
  }

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (chunk) => this.frozen || upstream.write(chunk));
      upstream.on('data', (chunk) => this.frozen || client.write(chunk));
      client.once('end', () => upstream.end());
      upstream.once('end', () => client.end());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }

  freeze(): void {
    this.frozen = true;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.frozen = false;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}
