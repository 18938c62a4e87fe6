import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import KeyvRedis from '@keyv/redis';
import { CacheableMemory } from 'cacheable';
import { Cache, createCache } from 'cache-manager';
import { Keyv } from 'keyv';
import { RedisService } from '../redis/redis.service';

/** How long a cache call may take before the request goes on without the cache. */
const CACHE_CALL_TIMEOUT_MS = 300;
/**
 * After a Redis call fails or times out, Redis is left alone for this long: a hung server costs one wait in this
 * window instead of one per call (a list read makes three).
 */
const SUSPEND_AFTER_FAILURE_MS = 1000;
const TIMED_OUT = Symbol('timed out');

export type CacheBackend = 'redis' | 'memory';

/**
 * The service's cache: Redis when REDIS_URL is set (shared by every instance), process memory otherwise.
 * It never fails or stalls a request: an unreachable Redis makes reads miss and writes no-ops within
 * {@link CACHE_CALL_TIMEOUT_MS} (at once while the connection is down, or for {@link SUSPEND_AFTER_FAILURE_MS}
 * after a call failed), and caching resumes by itself when Redis is back.
 */
@Injectable()
export class AppCache implements OnApplicationShutdown {
  readonly backend: CacheBackend;
  private readonly cache: Cache;
  /** Until when Redis is not asked (after a failed call); 0: it is. */
  private suspendedUntil = 0;

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

  /** Whether calls go to the cache now: false while Redis is disconnected or left alone after a failure. */
  get available(): boolean {
    return this.backend === 'memory' || (this.redis.ready && Date.now() >= this.suspendedUntil);
  }

  /** The cached value, or undefined on a miss or when the cache cannot answer in time. */
  async get<T>(key: string): Promise<T | undefined> {
    const value = await this.guard(() => this.cache.get<T>(key), 'get');
    return value ?? undefined;
  }

  /** Whether the value was stored: false when the cache could not take it in time. */
  async set<T>(key: string, value: T, ttlMs: number): Promise<boolean> {
    return (await this.guard(() => this.cache.set(key, value, ttlMs).then(() => true), 'set')) ?? false;
  }

  /** Whether the cache answers now: memory always does; Redis must answer a PING in time, even while suspended. */
  async isUp(): Promise<boolean> {
    if (!this.redis.client) return true;
    if (!this.redis.ready) return false;
    const client = this.redis.client;
    const answer = await this.guard(() => client.ping(), 'ping', true);
    if (answer !== 'PONG') return false;
    this.suspendedUntil = 0;
    return true;
  }

  async onApplicationShutdown(): Promise<void> {
    // The Redis connection itself belongs to RedisService, which closes it.
    if (this.backend === 'memory') await this.cache.disconnect().catch(() => undefined);
  }

  private async guard<T>(call: () => Promise<T>, name: string, evenIfSuspended = false): Promise<T | undefined> {
    // Memory answers at once and does not fail: no timer to race it against.
    if (this.backend === 'memory') return call();
    if (!this.redis.ready || (!evenIfSuspended && Date.now() < this.suspendedUntil)) return undefined;
    const operation = call();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), CACHE_CALL_TIMEOUT_MS);
    });
    try {
      const outcome = await Promise.race([operation, timeout]);
      if (outcome !== TIMED_OUT) return outcome;
      operation.catch(() => undefined);
      this.suspend(`cache ${name} timed out`, new Error(`no answer within ${CACHE_CALL_TIMEOUT_MS} ms`));
      return undefined;
    } catch (error) {
      this.suspend(`cache ${name} failed`, error as Error);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private suspend(message: string, error: Error): void {
    this.suspendedUntil = Date.now() + SUSPEND_AFTER_FAILURE_MS;
    this.redis.warn(message, error);
  }
}
