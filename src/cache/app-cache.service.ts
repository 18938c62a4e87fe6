import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import KeyvRedis from '@keyv/redis';
import { CacheableMemory } from 'cacheable';
import { Keyv } from 'keyv';
import { NO_ANSWER, REDIS_CALL_BUDGET_MS, RedisService } from '../redis/redis.service';

export type CacheBackend = 'redis' | 'memory';

/**
 * The service's cache: Redis when REDIS_URL is set (shared by every instance), process memory otherwise.
 * It never fails or stalls a request: every Redis call goes through RedisService.run, so an unreachable or hung
 * Redis makes reads miss and writes no-ops within its budget (at once while Redis is down or paused after a
 * failure), and caching resumes by itself when Redis is back.
 */
@Injectable()
export class AppCache implements OnApplicationShutdown {
  readonly backend: CacheBackend;
  private readonly cache: Keyv;

  constructor(private readonly redis: RedisService) {
    if (redis.client) {
      this.backend = 'redis';
      // Errors are thrown, not only emitted, so that RedisService.run sees them and pauses Redis for everyone.
      const store = new KeyvRedis(redis.client, {
        throwOnConnectError: false,
        throwOnErrors: true,
        connectionTimeout: REDIS_CALL_BUDGET_MS,
      });
      // Plain JSON: values are strings or flat objects of strings, which need none of Keyv's default
      // serializer's handling of Buffers (its reviver visits every value of every entry read).
      this.cache = new Keyv({
        store,
        namespace: redis.namespace,
        serialize: JSON.stringify,
        deserialize: JSON.parse,
        throwOnErrors: true,
      });
    } else {
      this.backend = 'memory';
      // In memory the values are kept as they are, neither serialized nor cloned: callers store immutable values
      // (strings, objects of strings) and never change what they read.
      this.cache = new Keyv({
        store: new CacheableMemory({ lruSize: 10_000, useClone: false }),
        serialize: undefined,
        deserialize: undefined,
      });
    }
  }

  /** Whether calls go to the cache now: false while Redis is disconnected or left alone after a failure. */
  get available(): boolean {
    return this.backend === 'memory' || this.redis.available;
  }

  /** The cached value, or undefined on a miss or when the cache cannot answer in time. */
  async get<T>(key: string): Promise<T | undefined> {
    const value = await this.guard(() => this.cache.get<T>(key), 'get');
    return value ?? undefined;
  }

  /** Whether the value was stored: false when the cache could not take it in time. */
  async set<T>(key: string, value: T, ttlMs: number): Promise<boolean> {
    return (await this.guard(() => this.cache.set(key, value, ttlMs), 'set')) ?? false;
  }

  /** Whether the cache answers now: memory always does; Redis must answer a PING in time, even while paused. */
  async isUp(): Promise<boolean> {
    return this.backend === 'memory' || this.redis.ping();
  }

  async onApplicationShutdown(): Promise<void> {
    // The Redis connection itself belongs to RedisService, which closes it.
    if (this.backend === 'memory') await this.cache.disconnect().catch(() => undefined);
  }

  private async guard<T>(call: () => Promise<T>, name: string): Promise<T | undefined> {
    // Memory answers at once and does not fail: no deadline to race it against.
    if (this.backend === 'memory') return call();
    const outcome = await this.redis.run(`cache ${name}`, call);
    return outcome === NO_ANSWER ? undefined : outcome;
  }
}
