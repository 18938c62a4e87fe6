import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import KeyvRedis from '@keyv/redis';
import { CacheableMemory } from 'cacheable';
import { Cache, createCache } from 'cache-manager';
import { Keyv } from 'keyv';
import { RedisService } from '../redis/redis.service';

/** How long a cache call may take before the request goes on without the cache. */
const CACHE_CALL_TIMEOUT_MS = 300;

export type CacheBackend = 'redis' | 'memory';

/**
 * The service's cache: Redis when REDIS_URL is set (shared by every instance), process memory otherwise.
 * It never fails or stalls a request: an unreachable Redis makes reads miss and writes no-ops within
 * {@link CACHE_CALL_TIMEOUT_MS}, and caching resumes by itself when Redis is back.
 */
@Injectable()
export class AppCache implements OnApplicationShutdown {
  readonly backend: CacheBackend;
  private readonly cache: Cache;

  constructor(private readonly redis: RedisService) {
    if (redis.client) {
      this.backend = 'redis';
      const store = new KeyvRedis(redis.client, {
        throwOnConnectError: false,
        connectionTimeout: CACHE_CALL_TIMEOUT_MS,
      });
      // Plain JSON: values are strings or flat objects of strings, which need none of Keyv's default
      // serializer's handling of Buffers (its reviver visits every value of every entry read).
      this.cache = createCache({
        stores: [new Keyv({ store, namespace: redis.namespace, serialize: JSON.stringify, deserialize: JSON.parse })],
      });
    } else {
      this.backend = 'memory';
      // In memory the values are kept as they are, neither serialized nor cloned: callers store immutable values
      // (strings, objects of strings) and never change what they read.
      this.cache = createCache({
        stores: [
          new Keyv({
            store: new CacheableMemory({ lruSize: 10_000, useClone: false }),
            serialize: undefined,
            deserialize: undefined,
          }),
        ],
      });
    }
  }

  /** The cached value, or undefined on a miss or when the cache cannot answer in time. */
  async get<T>(key: string): Promise<T | undefined> {
    const value = await this.guard(this.cache.get<T>(key), 'get');
    return value ?? undefined;
  }

  async set<T>(key: string, value: T, ttlMs: number): Promise<void> {
    await this.guard(this.cache.set(key, value, ttlMs), 'set');
  }

  /** Whether the cache answers now: memory always does; Redis must answer a PING in time. */
  async isUp(): Promise<boolean> {
    if (!this.redis.client) return true;
    if (!this.redis.ready) return false;
    return (await this.guard(this.redis.client.ping(), 'ping')) === 'PONG';
  }

  async onApplicationShutdown(): Promise<void> {
    // The Redis connection itself belongs to RedisService, which closes it.
    if (this.backend === 'memory') await this.cache.disconnect().catch(() => undefined);
  }

  private async guard<T>(operation: Promise<T>, name: string): Promise<T | undefined> {
    // Memory answers at once and does not fail: no timer to race it against.
    if (this.backend === 'memory') return operation;
    if (this.redis.enabled && !this.redis.ready) {
      operation.catch(() => undefined);
      return undefined;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), CACHE_CALL_TIMEOUT_MS);
    });
    try {
      return await Promise.race([operation, timeout]);
    } catch (error) {
      this.redis.warn(`cache ${name} failed`, error as Error);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}
