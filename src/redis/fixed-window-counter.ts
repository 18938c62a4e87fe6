import { createHash } from 'node:crypto';
import { NO_ANSWER, RedisService } from './redis.service';

/** How many hits a key has in its current window, and how long until that window ends. */
export interface WindowCount {
  count: number;
  resetMs: number;
}

export interface FixedWindowOptions {
  /** Names the counter's keys in Redis (after the deployment's namespace). */
  name: string;
  windowMs: number;
  /**
   * 'clock': windows aligned to the clock, so every instance agrees where one starts and ends. 'first-hit': a key's
   * window opens at its first hit, so a count always lives a whole window.
   */
  anchor: 'clock' | 'first-hit';
  /** At most this many keys are counted in process memory; past it the oldest go. */
  maxKeys?: number;
}

const DEFAULT_MAX_KEYS = 100_000;

/**
 * Hits per key in fixed windows: in Redis when it answers, so the count holds for all instances together, else in
 * this process (its memory bounded by `maxKeys`). Every Redis call goes through RedisService.run, so a count never
 * waits on Redis longer than its budget. One module of ours rather than rate-limiter-flexible, whose fixed windows
 * cannot be aligned to the clock and whose Redis calls take no deadline.
 */
export class FixedWindowCounter {
  private readonly memory = new Map<string, { count: number; endsAt: number }>();
  private readonly maxKeys: number;

  constructor(
    private readonly redis: RedisService,
    private readonly options: FixedWindowOptions,
  ) {
    this.maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  }

  /** Whether {@link hit} counts in this process now, so {@link hitInMemory} may be called instead without waiting. */
  get local(): boolean {
    return !this.redis.available;
  }

  /** Keys counted in process memory now (expired ones included until they are pruned). */
  get memorySize(): number {
    return this.memory.size;
  }

  /** Counts one hit of `key`. */
  async hit(key: string, now = Date.now()): Promise<WindowCount> {
    const { windowMs } = this.options;
    const clockResetMs = this.clockResetMs(now);
    const replies = await this.redis.run(`${this.options.name} count`, (client) => {
      const redisKey = this.redisKey(key, now);
      return clockResetMs === undefined
        ? client.multi().incr(redisKey).pExpire(redisKey, windowMs, 'NX').pTTL(redisKey).exec()
        : // Kept past its window's end, so that an instance whose clock runs behind still finds it.
          client
            .multi()
            .incr(redisKey)
            .pExpire(redisKey, windowMs * 2)
            .exec();
    });
    if (replies === NO_ANSWER) return this.hitInMemory(key, now);
    return { count: Number(replies[0]), resetMs: clockResetMs ?? ttl(replies[2], windowMs) };
  }

  /** Counts one hit of `key` in this process only. */
  hitInMemory(key: string, now = Date.now()): WindowCount {
    const entry = this.memory.get(key);
    if (entry && entry.endsAt > now) {
      entry.count += 1;
      return { count: entry.count, resetMs: entry.endsAt - now };
    }
    const endsAt = this.options.anchor === 'clock' ? this.windowEnd(now) : now + this.options.windowMs;
    // Deleted first, so that the map's order stays the order in which windows opened: the oldest go first.
    if (entry) this.memory.delete(key);
    else if (this.memory.size >= this.maxKeys) this.prune(now);
    this.memory.set(key, { count: 1, endsAt });
    return { count: 1, resetMs: endsAt - now };
  }

  /** The count of `key` without a hit; 0 (and resetMs 0) when it has none in the current window. */
  async peek(key: string, now = Date.now()): Promise<WindowCount> {
    const replies = await this.redis.run(`${this.options.name} read`, (client) => {
      const redisKey = this.redisKey(key, now);
      return client.multi().get(redisKey).pTTL(redisKey).exec();
    });
    if (replies === NO_ANSWER) {
      const entry = this.memory.get(key);
      if (!entry || entry.endsAt <= now) return { count: 0, resetMs: 0 };
      return { count: entry.count, resetMs: entry.endsAt - now };
    }
    const count = Number(replies[0] ?? 0);
    if (count === 0) return { count: 0, resetMs: 0 };
    return { count, resetMs: this.clockResetMs(now) ?? ttl(replies[1], this.options.windowMs) };
  }

  /** Forgets `key`'s count in the current window. */
  async reset(key: string, now = Date.now()): Promise<void> {
    this.memory.delete(key);
    await this.redis.run(`${this.options.name} reset`, (client) => client.del(this.redisKey(key, now)));
  }

  /** Drops expired entries; if that is not enough, the oldest tenth too, so the next prune is that many hits away. */
  private prune(now: number): void {
    for (const [key, entry] of this.memory) if (entry.endsAt <= now) this.memory.delete(key);
    let excess = this.memory.size - Math.floor(this.maxKeys * 0.9);
    for (const key of this.memory.keys()) {
      if (excess <= 0) break;
      this.memory.delete(key);
      excess -= 1;
    }
  }

  private windowEnd(now: number): number {
    const { windowMs } = this.options;
    return (Math.floor(now / windowMs) + 1) * windowMs;
  }

  /** With clock-aligned windows, how long until the current one ends; else undefined (Redis knows). */
  private clockResetMs(now: number): number | undefined {
    return this.options.anchor === 'clock' ? this.windowEnd(now) - now : undefined;
  }

  private redisKey(key: string, now: number): string {
    const prefix = `${this.redis.namespace}:${this.options.name}`;
    if (this.options.anchor === 'first-hit') return `${prefix}:${digest(key)}`;
    return `${prefix}:${Math.floor(now / this.options.windowMs)}:${digest(key)}`;
  }
}

/** A key's time to live in milliseconds; a whole window should it have none (which the counter never leaves). */
function ttl(reply: unknown, windowMs: number): number {
  const ms = Number(reply);
  return ms > 0 ? ms : windowMs;
}

/** Client addresses and emails are not written to Redis as they are. */
const digest = (text: string) => createHash('sha256').update(text).digest('base64url').slice(0, 22);
