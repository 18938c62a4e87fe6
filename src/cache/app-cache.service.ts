import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import KeyvRedis, { createClient, RedisClientType } from '@keyv/redis';
import { CacheableMemory } from 'cacheable';
import { Cache, createCache } from 'cache-manager';
import { Keyv } from 'keyv';
import { Settings } from '../config/settings';

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
  private readonly logger = new Logger(AppCache.name);
  readonly backend: CacheBackend;
  private readonly redis?: RedisClientType;
  private readonly cache: Cache;
  private lastErrorLog = 0;

  constructor(@Inject(Settings) settings: Settings) {
    if (settings.redisUrl) {
      this.backend = 'redis';
      this.redis = createClient({
        url: settings.redisUrl,
        disableOfflineQueue: true,
        socket: { connectTimeout: 1000, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000) },
      });
      this.redis.on('error', (error: Error) => this.logThrottled('Redis error', error));
      this.redis.connect().catch((error: Error) => this.logThrottled('Redis connection failed', error));
      const store = new KeyvRedis(this.redis, { throwOnConnectError: false, connectionTimeout: CACHE_CALL_TIMEOUT_MS });
      this.cache = createCache({ stores: [new Keyv({ store, namespace: 'logbook' })] });
    } else {
      this.backend = 'memory';
      this.cache = createCache({ stores: [new Keyv({ store: new CacheableMemory({ lruSize: 10_000 }) })] });
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

  async del(key: string): Promise<void> {
    await this.guard(this.cache.del(key), 'del');
  }

  /** Whether the cache answers now: memory always does; Redis must answer a PING in time. */
  async isUp(): Promise<boolean> {
    if (!this.redis) return true;
    if (!this.redis.isReady) return false;
    return (await this.guard(this.redis.ping(), 'ping')) === 'PONG';
  }

  async onApplicationShutdown(): Promise<void> {
    await this.cache.disconnect().catch(() => undefined);
    if (this.redis?.isOpen) this.redis.destroy();
  }

  private async guard<T>(operation: Promise<T>, name: string): Promise<T | undefined> {
    if (this.redis && !this.redis.isReady) {
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
      this.logThrottled(`cache ${name} failed`, error as Error);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private logThrottled(message: string, error: Error): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 10_000) return;
    this.lastErrorLog = now;
    this.logger.warn(`${message}: ${error.message}`);
  }
}
