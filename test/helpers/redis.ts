import { randomUUID } from 'node:crypto';
import { Settings } from '../../src/config/settings';
import { RedisService } from '../../src/redis/redis.service';
import { waitFor } from '../faults/kit';

/** The machine's Redis, which unit specs of Redis features use. */
export const MACHINE_REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A RedisService of a deployment of its own (its keys never meet another spec's); without `url`, no Redis. */
export function redisService(url?: string): RedisService {
  return new RedisService({ redisUrl: url, deploymentId: randomUUID() } as Settings);
}

export async function readyRedisService(url: string): Promise<RedisService> {
  const redis = redisService(url);
  await waitFor('Redis to be ready', () => redis.ready, 10_000, 10);
  return redis;
}

/** How long `work` takes, and what it returns. */
export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}
