import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { Client, DatabaseError, type Pool, type PoolClient } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import { Settings } from '../config/settings';
import { managerOn, primaryPool, replicatedDriver, type ReplicatedDriver } from './pg-access';
import { insertToRecordEnd, maxPosition, parseWalPosition, PRIMARY_ONLY, WalPosition } from './wal-position';

/** A manager whose reads run where they were sent: one replica's connection, or the primary's pool. */
export type ReadDb = EntityManager;

/** A connection of its own for a long read (an export's cursor), released when the read ends (again: no effect). */
export interface ReadLease {
  client: PoolClient;
  release(error?: Error): void;
}

/** How often each replica is asked how far it has replayed. */
const POLL_MS = 50;
/** How often one that failed is tried again. */
const DOWN_RETRY_MS = 1000;
/** A replica slower than this to answer its poll is skipped until it answers. */
const POLL_TIMEOUT_MS = 1000;
const PROBE_TIMEOUT_MS = 2000;
/** How often the primary's position is sampled for {@link ReadReplicas.floor}. */
const PRIMARY_SAMPLE_MS = 1000;
/**
 * How long a recorded write position is kept (consistent-reads.ts), and the age of the floor: the primary's position
 * that many milliseconds ago. Every read needs the floor, so once a write's record expires the floor (sampled
 * after that write, and at least a few minutes before the expiry) still covers it: a replica never answers a caller
 * without its own writes, however far behind it falls, and one more than about five minutes behind answers nobody.
 */
export const WRITE_POSITION_TTL_MS = 10 * 60_000;
const FLOOR_AGE_MS = 5 * 60_000;

const POLL_SQL = `SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS replayed,
  (SELECT system_identifier::text FROM pg_control_system()) AS system`;
const PRIMARY_SQL = `SELECT (SELECT system_identifier::text FROM pg_control_system()) AS system,
  current_setting('wal_block_size') AS block_size,
  (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size') AS segment_size`;
const POSITION_QUERY = { name: 'logbook_wal_insert_lsn', text: 'SELECT pg_current_wal_insert_lsn()::text AS insert' };

class Replica {
  pool?: Pool;
  /** Answered its last poll as a standby of this primary. */
  up = false;
  /** How far it had replayed at its last poll: it has replayed at least this much since. */
  replayed: WalPosition = 0n;
  polling = false;
  nextPollAt = 0;
  /** Why it was last reported skipped; undefined while it serves. */
  reported?: string = 'not polled yet';
  /** Its connections checked out now, by reads and polls. */
  readonly leases = new Set<PoolClient>();
  /** When a read failed on it last, for logging at most one in ten seconds. */
  lastReadFailureLog = -Infinity;

  constructor(
    readonly url: string,
    readonly label: string,
  ) {}
}

/**
 * The replicas of DATABASE_REPLICA_URLS: their pools (TypeORM's), how far each has replayed (polled every 50 ms,
 * so that no read waits for a question to a replica), and the choice of one for a read that must see a given
 * position. A replica that is down, errs, is no standby, or follows another cluster is skipped; a read it fails is
 * answered by the primary. Which position a read must see is ConsistentReads' business.
 */
@Injectable()
export class ReadReplicas implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ReadReplicas.name);
  private readonly replicas: Replica[];
  private driver!: ReplicatedDriver;
  private systemIdentifier?: string;
  private blockSize = 8192;
  private segmentSize = 16 * 1024 * 1024;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private next = 0;
  /** (time, position) samples of the primary, oldest first; the first is the floor. */
  private samples: { at: number; position: WalPosition }[] = [];
  private sampling = false;
  private nextSampleAt = 0;
  /** The highest position seen after a commit since the last sample. */
  private committedSinceSample: WalPosition = 0n;

  constructor(
    private readonly dataSource: DataSource,
    settings: Settings,
  ) {
    this.replicas = settings.databaseReplicaUrls.map((url, index) => new Replica(url, replicaLabel(url, index)));
  }

  get enabled(): boolean {
    return this.replicas.length > 0;
  }

  /** The primary's system identifier, which its replicas share (known once started). */
  get cluster(): string {
    return this.systemIdentifier ?? 'unknown';
  }

  /** Whether some replica could answer a read now. */
  anyUsable(): boolean {
    return this.replicas.some((replica) => replica.up);
  }

  /**
   * The least position every read must see: the primary's position about five minutes ago (or when this instance
   * started, in its first five minutes). See {@link WRITE_POSITION_TTL_MS}.
   */
  get floor(): WalPosition {
    return this.samples[0]?.position ?? PRIMARY_ONLY;
  }

  /** Each replica as last polled. */
  status(): { replica: string; up: boolean; replayed: WalPosition }[] {
    return this.replicas.map(({ label, up, replayed }) => ({ replica: label, up, replayed }));
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.enabled) return;
    this.driver = replicatedDriver(this.dataSource);
    // TypeORM opened a pool for each replica that answered at start-up (see reachableReplicas), in their order.
    (this.driver.options.replication?.slaves ?? []).forEach((credentials, index) => {
      const replica = this.replicas.find((candidate) => candidate.url === credentials.url && !candidate.pool);
      if (replica) replica.pool = this.driver.slaves[index];
    });
    const [primary] = (
      await this.driver.master.query<{ system: string; block_size: string; segment_size: string }>(PRIMARY_SQL)
    ).rows;
    this.systemIdentifier = primary.system;
    this.blockSize = Number(primary.block_size);
    this.segmentSize = Number(primary.segment_size);
    await this.sample();
    // The first polls, so that reads use the replicas from the first request; one that is slow to answer joins later.
    await Promise.race([
      Promise.all(this.replicas.map((replica) => this.poll(replica))),
      new Promise((resolve) => setTimeout(resolve, POLL_TIMEOUT_MS).unref()),
    ]);
    this.timer = setInterval(() => this.tick(), POLL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /**
   * The primary's WAL position now, as a replica would report having replayed it: taken right after a commit, a
   * replica that has reached it shows that commit.
   */
  async primaryPosition(): Promise<WalPosition> {
    const { rows } = await this.driver.master.query<{ insert: string }>(POSITION_QUERY);
    return insertToRecordEnd(parseWalPosition(rows[0].insert), this.blockSize, this.segmentSize);
  }

  /** A position read after a commit: also a sample of the primary, for the floor. */
  observed(position: WalPosition): void {
    if (position !== PRIMARY_ONLY) this.committedSinceSample = maxPosition(this.committedSinceSample, position);
  }

  /**
   * Runs `work` on a replica that has replayed `minimum` (and the floor), else on the primary. When the replica
   * fails it, it runs again on the primary: reads only, so running one twice changes nothing.
   */
  async readAt<T>(minimum: WalPosition, work: (db: ReadDb) => Promise<T>): Promise<T> {
    const replica = this.pick(minimum);
    if (!replica) return work(this.dataSource.manager);
    let lease: ReadLease;
    try {
      lease = await checkoutWithin(replica.pool!, replica.leases, POLL_TIMEOUT_MS);
    } catch (error) {
      this.failed(replica, error);
      return work(this.dataSource.manager);
    }
    let result: T;
    try {
      // The lease is released here, not by the manager's query runner.
      result = await work(managerOn(this.dataSource, lease.client));
    } catch (error) {
      lease.release(isConnectionProblem(error) ? (error as Error) : undefined);
      this.failed(replica, error);
      return work(this.dataSource.manager);
    }
    lease.release();
    return result;
  }

  /** A connection of its own on a replica that has replayed `minimum`, else on the primary. */
  async leaseAt(minimum: WalPosition): Promise<ReadLease> {
    const replica = this.enabled ? this.pick(minimum) : undefined;
    if (replica) {
      try {
        return await checkoutWithin(replica.pool!, replica.leases, POLL_TIMEOUT_MS);
      } catch (error) {
        this.failed(replica, error);
      }
    }
    return checkout(primaryPool(this.dataSource));
  }

  /** A replica that has replayed what the read needs, taking turns among those that have. */
  private pick(minimum: WalPosition): Replica | undefined {
    const needed = maxPosition(minimum, this.floor);
    for (let step = 0; step < this.replicas.length; step++) {
      const index = (this.next + step) % this.replicas.length;
      const replica = this.replicas[index];
      if (replica.up && replica.pool && replica.replayed >= needed) {
        this.next = (index + 1) % this.replicas.length;
        return replica;
      }
    }
    return undefined;
  }

  private failed(replica: Replica, error: unknown): void {
    if (isConnectionProblem(error)) {
      this.skip(replica, 'failed a read', error);
      return;
    }
    // One query failed (a replay conflict, say) and was answered by the primary; the replica stays in use.
    const now = performance.now();
    if (now - replica.lastReadFailureLog < 10_000) return;
    replica.lastReadFailureLog = now;
    this.logger.warn(`${replica.label} failed a read, answered by the primary instead: ${describe(error)}`);
  }

  private tick(): void {
    const now = performance.now();
    for (const replica of this.replicas) {
      if (!replica.polling && now >= replica.nextPollAt) void this.poll(replica);
    }
    if (!this.sampling && now >= this.nextSampleAt) void this.sample();
  }

  private async poll(replica: Replica): Promise<void> {
    if (replica.polling || this.stopped) return;
    replica.polling = true;
    const timeout = setTimeout(() => this.unresponsive(replica), POLL_TIMEOUT_MS);
    timeout.unref();
    try {
      replica.pool ??= await this.join(replica);
      const lease = await checkout(replica.pool, replica.leases);
      let row: { standby: boolean; replayed: string | null; system: string };
      try {
        [row] = (await lease.client.query<typeof row>(POLL_SQL)).rows;
      } finally {
        lease.release();
      }
      if (!row.standby) this.skip(replica, 'is not a standby (promoted?)');
      else if (row.system !== this.systemIdentifier) this.skip(replica, 'is a replica of another cluster');
      else if (!row.replayed) this.skip(replica, 'has replayed nothing yet');
      else {
        replica.replayed = parseWalPosition(row.replayed);
        this.serve(replica);
      }
    } catch (error) {
      if (!this.stopped) this.skip(replica, 'does not answer', error);
    } finally {
      clearTimeout(timeout);
      replica.polling = false;
      replica.nextPollAt = performance.now() + (replica.up ? POLL_MS : DOWN_RETRY_MS);
    }
  }

  /**
   * A replica slower than POLL_TIMEOUT_MS to answer its poll: a server that hangs, or a network that drops packets
   * (a dead host's connections can hang for many minutes). Reads on it now would wait as long, so their
   * connections are cut: they fail at once and are answered by the primary (readAt).
   */
  private unresponsive(replica: Replica): void {
    this.skip(replica, `is slower than ${POLL_TIMEOUT_MS} ms to answer`);
    for (const client of replica.leases) sever(client);
  }

  /** Opens the pool of a replica that did not answer at start-up, now that it does (the pool's first connection). */
  private async join(replica: Replica): Promise<Pool> {
    const pool = await this.driver.createPool(this.driver.options, { url: replica.url });
    if (this.stopped) {
      await pool.end();
      throw new Error('shutting down');
    }
    // Among TypeORM's pools, so that closing the DataSource closes it too.
    this.driver.slaves.push(pool);
    return pool;
  }

  private async sample(): Promise<void> {
    this.sampling = true;
    let position = this.committedSinceSample;
    this.committedSinceSample = 0n;
    try {
      position = maxPosition(position, await this.primaryPosition());
    } catch {
      // The primary did not answer: the positions seen after commits since the last sample still count.
    }
    const now = performance.now();
    if (position > 0n) this.samples.push({ at: now, position });
    // Keep the newest sample at least FLOOR_AGE_MS old (or the first one ever, until one is that old) and the later ones.
    while (this.samples.length > 1 && this.samples[1].at <= now - FLOOR_AGE_MS) this.samples.shift();
    this.sampling = false;
    this.nextSampleAt = now + PRIMARY_SAMPLE_MS;
  }

  private serve(replica: Replica): void {
    replica.up = true;
    if (replica.reported === undefined) return;
    replica.reported = undefined;
    this.logger.log(`${replica.label} serves reads`);
  }

  /** Logged when the reason changes, not on every poll of a replica that stays down. */
  private skip(replica: Replica, reason: string, error?: unknown): void {
    replica.up = false;
    if (replica.reported === reason) return;
    replica.reported = reason;
    const detail = error === undefined ? '' : ` (${describe(error)})`;
    this.logger.warn(`${replica.label} ${reason}${detail}: its reads go to the primary`);
  }
}

/**
 * The replicas that accept a connection now. TypeORM opens every pool of its replication at start-up and fails
 * when one cannot connect; a replica that is down must not keep Logbook from starting, so the others start without
 * it and ReadReplicas lets it join once it answers.
 */
export async function reachableReplicas(urls: string[]): Promise<string[]> {
  const logger = new Logger(ReadReplicas.name);
  const answers = await Promise.all(
    urls.map(async (url, index) => {
      const client = new Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
      try {
        await client.connect();
        return true;
      } catch (error) {
        logger.warn(
          `${replicaLabel(url, index)} does not answer at start-up (${describe(error)}); it joins when it does`,
        );
        return false;
      } finally {
        await client.end().catch(() => undefined);
      }
    }),
  );
  return urls.filter((_, index) => answers[index]);
}

/**
 * A client of `pool` (in `leases` while it is out), released once. While it is out, a dying connection emits an
 * error on it, which pg-pool listens for only while the client is idle: unheard, it would end the process. A client
 * whose connection broke is released as broken, so the pool drops it.
 */
async function checkout(pool: Pool, leases?: Set<PoolClient>): Promise<ReadLease> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => (broken = error);
  client.on('error', onError);
  leases?.add(client);
  let released = false;
  return {
    client,
    release: (error) => {
      if (released) return;
      released = true;
      leases?.delete(client);
      client.removeListener('error', onError);
      client.release(error ?? broken);
    },
  };
}

/** No connection of a replica's pool came within the time a read waits for one. */
class CheckoutTimeout extends Error {}

/**
 * A connection of the replica's pool, or a CheckoutTimeout after `ms`: a read waits no longer for a replica than a
 * poll does. A replica that hangs (or a pool whose connections are all busy) would otherwise hold a read for the
 * pool's whole connect timeout, before any poll can cut it, since only connections already lent out are severed
 * (unresponsive). The read then goes to the primary; a connection that comes later goes back to the pool.
 */
async function checkoutWithin(pool: Pool, leases: Set<PoolClient>, ms: number): Promise<ReadLease> {
  const pending = checkout(pool, leases);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckoutTimeout(`no connection within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([pending, timeout]);
  } catch (error) {
    pending.then(
      (lease) => lease.release(),
      () => undefined,
    );
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Destroys a client's socket: its query fails at once ("Connection terminated unexpectedly"), where `end()` would
 * wait for a server that does not answer.
 */
function sever(client: PoolClient): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/** `replica 2 (db-2.internal:5432)`: never the URL, which may hold a password. */
function replicaLabel(url: string, index: number): string {
  let host = 'unknown host';
  try {
    host = new URL(url).host;
  } catch {
    // validated by the settings; kept anonymous if not
  }
  return `replica ${index + 1} (${host})`;
}

/**
 * Whether an error says the connection or the server is unusable (the server's error classes 08 connection
 * exception, 57 operator intervention, 53 insufficient resources; a socket's error; pg's "Connection terminated"
 * and connection timeouts), rather than that one query failed.
 */
function isConnectionProblem(error: unknown): boolean {
  if (error instanceof CheckoutTimeout) return true;
  const cause = (error as { driverError?: unknown } | undefined)?.driverError ?? error;
  if (cause instanceof DatabaseError) return /^(08|57|53)/.test(cause.code ?? '');
  if (!(cause instanceof Error)) return false;
  const code = (cause as NodeJS.ErrnoException).code;
  return (typeof code === 'string' && code.startsWith('E')) || /connection|terminated|timeout/i.test(cause.message);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
