import { Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import type { PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { RequestContext, RequestContextStore } from '../common/context/request-context';
import { NO_ANSWER, RedisService } from '../redis/redis.service';
import { ReadDb, ReadReplicas, WRITE_POSITION_TTL_MS } from './read-replicas';
import { decodeWalPosition, encodeWalPosition, maxPosition, PRIMARY_ONLY, WalPosition } from './wal-position';

/** Whose writes a read must see: one user's (its own, and those to its activities), or every activity write. */
export const WriteScope = {
  user: (id: number) => `user:${id}`,
  activities: 'activities',
} as const;

/** Sets a key to the larger of its value and ARGV[1] (both 16 hex digits, so text order is number order). */
const RECORD_SCRIPT = `for _, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if not current or current < ARGV[1] then current = ARGV[1] end
  redis.call('SET', key, current, 'PX', ARGV[2])
end`;

/**
 * Reads that may be answered by a replica and still see the caller's own writes, however far the replicas lag.
 *
 * When a write commits, the primary's WAL position is recorded for the writing user (and, through record(), for
 * whatever else the write makes stale, such as the activity lists of its owner and of every ADMIN): in Redis
 * when REDIS_URL is set, so that every instance knows it, for ten minutes, and in this instance's memory. A read
 * goes to a replica only if that replica has replayed the largest position recorded for the scopes it reads
 * (ReadReplicas polls how far each has), else to the primary. So a caller reads the primary only until a replica
 * has caught up with its own writes, never for a fixed time that a lagging replica could outlast; the floor of
 * ReadReplicas covers writes whose record expired. Without DATABASE_REPLICA_URLS every read goes to the primary
 * and nothing is recorded.
 */
@Injectable()
export class ConsistentReads {
  private readonly memory = new Map<string, { position: WalPosition; expiresAt: number }>();
  /** The size of {@link memory} at which its expired entries are dropped next. */
  private pruneAt = 10_000;
  /** Per request: the position after its last commit, and the scopes already recorded at it. */
  private readonly commits = new WeakMap<RequestContext, { position: WalPosition; recorded: Set<string> }>();

  constructor(
    private readonly replicas: ReadReplicas,
    private readonly redis: RedisService,
    private readonly dataSource: DataSource,
  ) {}

  /** Runs a read where it sees every write recorded for `scopes` (by default the signed-in caller's own). */
  async read<T>(work: (db: ReadDb) => Promise<T>, scopes: string[] = callerScopes()): Promise<T> {
    if (!this.replicas.enabled) return work(this.dataSource.manager);
    return this.replicas.readAt(await this.required(scopes), work);
  }

  /** Runs a read where it sees `position` (from {@link required}). */
  readAt<T>(position: WalPosition, work: (db: ReadDb) => Promise<T>): Promise<T> {
    return this.replicas.readAt(position, work);
  }

  /**
   * A streamed read on a connection of its own, which is released when the stream ends, fails or is destroyed.
   * A stream cannot start again elsewhere halfway, so a replica that fails during it fails the stream.
   */
  async stream(open: (client: PoolClient) => Readable, scopes: string[] = callerScopes()): Promise<Readable> {
    const lease = await this.replicas.leaseAt(this.replicas.enabled ? await this.required(scopes) : 0n);
    let stream: Readable;
    try {
      stream = open(lease.client);
    } catch (error) {
      lease.release();
      throw error;
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      lease.release();
    };
    stream.once('close', release);
    stream.once('error', release);
    stream.once('end', release);
    return stream;
  }

  /**
   * The position a read for `scopes` must see: the largest recorded for them. PRIMARY_ONLY when that cannot be
   * known (Redis does not answer), or when no replica could answer anyway (then nothing is looked up).
   */
  async required(scopes: string[]): Promise<WalPosition> {
    if (!this.replicas.enabled || scopes.length === 0) return 0n;
    if (!this.replicas.anyUsable()) return PRIMARY_ONLY;
    const now = performance.now();
    let position = 0n;
    for (const scope of scopes) {
      const entry = this.memory.get(scope);
      if (entry && entry.expiresAt > now) position = maxPosition(position, entry.position);
    }
    if (!this.redis.enabled) return position;
    // Without Redis's answer the read goes to the primary: it cannot know better.
    const values = await this.redis.run('write positions read', (client) =>
      client.mGet(scopes.map((scope) => this.redisKey(scope))),
    );
    if (values === NO_ANSWER) return PRIMARY_ONLY;
    for (const value of values) position = maxPosition(position, decodeWalPosition(value) ?? 0n);
    return position;
  }

  /**
   * After a commit (Transactions calls it): notes the primary's position for this request, and records it for the
   * signed-in caller. Never throws: the write has committed, and failing its request would invite a retry.
   */
  async committed(): Promise<void> {
    if (!this.replicas.enabled) return;
    const context = RequestContextStore.current();
    if (context?.userId === undefined) {
      // Nobody to record for yet (sign-in, registration): record() reads the position if the request needs it.
      if (context) this.commits.delete(context);
      return;
    }
    const memo = { position: await this.positionNow(), recorded: new Set<string>() };
    this.commits.set(context, memo);
    await this.store(memo, [WriteScope.user(context.userId)]);
  }

  /** Records this request's last commit for `scopes` too: whatever the write made stale besides the caller's own. */
  async record(scopes: string[]): Promise<void> {
    if (!this.replicas.enabled) return;
    const context = RequestContextStore.current();
    let memo = context && this.commits.get(context);
    if (!memo) {
      memo = { position: await this.positionNow(), recorded: new Set<string>() };
      if (context) this.commits.set(context, memo);
    }
    await this.store(memo, scopes);
  }

  /** The primary's position now; PRIMARY_ONLY if it cannot be read, which keeps the writer on the primary. */
  private async positionNow(): Promise<WalPosition> {
    try {
      const position = await this.replicas.primaryPosition();
      this.replicas.observed(position);
      return position;
    } catch {
      return PRIMARY_ONLY;
    }
  }

  private async store(memo: { position: WalPosition; recorded: Set<string> }, scopes: string[]): Promise<void> {
    const fresh = scopes.filter((scope) => !memo.recorded.has(scope));
    if (!fresh.length) return;
    const now = performance.now();
    for (const scope of fresh) {
      memo.recorded.add(scope);
      const entry = this.memory.get(scope);
      const position = entry && entry.expiresAt > now ? maxPosition(entry.position, memo.position) : memo.position;
      this.memory.set(scope, { position, expiresAt: now + WRITE_POSITION_TTL_MS });
    }
    if (this.memory.size > this.pruneAt) {
      for (const [scope, entry] of this.memory) if (entry.expiresAt <= now) this.memory.delete(scope);
      this.pruneAt = Math.max(10_000, this.memory.size * 2);
    }
    await this.redis.run('write position record', (client) =>
      client.eval(RECORD_SCRIPT, {
        keys: fresh.map((scope) => this.redisKey(scope)),
        arguments: [encodeWalPosition(memo.position), String(WRITE_POSITION_TTL_MS)],
      }),
    );
  }

  /**
   * In this deployment's namespace, and named by the primary's cluster: positions of different clusters do not
   * compare (a database restored into a new cluster).
   */
  private redisKey(scope: string): string {
    return `${this.redis.namespace}:wal:${this.replicas.cluster}:${scope}`;
  }
}

/** The signed-in caller's own writes, or none outside a request. */
function callerScopes(): string[] {
  const userId = RequestContextStore.current()?.userId;
  return userId === undefined ? [] : [WriteScope.user(userId)];
}
