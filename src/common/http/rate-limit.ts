import { HttpStatus } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Settings } from '../../config/settings';
import { RedisService } from '../../redis/redis.service';
import { AllExceptionsFilter } from './all-exceptions.filter';
import { AppException } from './app.exception';

/** How long a request waits for Redis to count it before this instance counts it alone. */
const REDIS_CALL_TIMEOUT_MS = 250;

/** Paths outside the limit: a load balancer's health checks must never be refused. */
const EXEMPT = /^\/health(?:[/?]|$)/;

/**
 * Requests per client address in fixed windows (aligned to the clock, so every instance agrees where a window
 * starts and ends), counted in Redis when it is there, so the limit holds for all instances together, else in this
 * process. A request over the limit gets 429 in the envelope with `Retry-After` before any other work is done; every
 * counted response says where its client stands in `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`
 * (the IETF RateLimit header fields, in seconds).
 *
 * While Redis is unreachable or slow, each instance counts on its own: the limit then holds per instance, and no
 * request waits more than {@link REDIS_CALL_TIMEOUT_MS} for it.
 */
export class RateLimiter {
  private readonly windowMs: number;
  private memoryWindow = -1;
  private memory = new Map<string, number>();

  constructor(
    private readonly settings: Settings,
    private readonly redis: RedisService,
  ) {
    this.windowMs = settings.rateLimitWindowSeconds * 1000;
  }

  get enabled(): boolean {
    return this.settings.rateLimitMax > 0;
  }

  /** Counts one request of `client` and tells how many it has made in the current window, and when that ends. */
  async hit(client: string, now = Date.now()): Promise<{ count: number; resetMs: number }> {
    const { window, resetMs } = this.windowAt(now);
    const counted = this.redis.ready ? await this.countInRedis(client, window) : undefined;
    return { count: counted ?? this.countInMemory(client, window), resetMs };
  }

  register(fastify: FastifyInstance): void {
    if (!this.enabled) return;
    // A callback hook, not an async one: counted in this process (no Redis), a request then costs no promise.
    fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      if (EXEMPT.test(request.url)) return done();
      const now = Date.now();
      if (!this.redis.ready) {
        const { window, resetMs } = this.windowAt(now);
        this.answer(request, reply, done, this.countInMemory(request.ip, window), resetMs);
        return;
      }
      this.hit(request.ip, now).then(
        ({ count, resetMs }) => this.answer(request, reply, done, count, resetMs),
        (error: Error) => reply.send(error),
      );
    });
  }

  /** The RateLimit headers; then on, or (over the limit) a 429. */
  private answer(request: FastifyRequest, reply: FastifyReply, done: () => void, count: number, resetMs: number): void {
    const limit = this.settings.rateLimitMax;
    const reset = Math.max(1, Math.ceil(resetMs / 1000));
    void reply.header('RateLimit-Limit', String(limit));
    void reply.header('RateLimit-Remaining', String(Math.max(0, limit - count)));
    void reply.header('RateLimit-Reset', String(reset));
    if (count <= limit) return done();
    const refusal = new AppException(HttpStatus.TOO_MANY_REQUESTS, 'tooManyRequests', { seconds: reset }, null, {
      'Retry-After': String(reset),
    });
    AllExceptionsFilter.reply(refusal, request, reply);
  }

  /** The window `now` falls in, and how long until it ends. */
  private windowAt(now: number): { window: number; resetMs: number } {
    const window = Math.floor(now / this.windowMs);
    return { window, resetMs: (window + 1) * this.windowMs - now };
  }

  private countInMemory(client: string, window: number): number {
    if (window !== this.memoryWindow) {
      // A new window: every earlier count is over, so the whole map goes at once.
      this.memoryWindow = window;
      this.memory = new Map();
    }
    const count = (this.memory.get(client) ?? 0) + 1;
    this.memory.set(client, count);
    return count;
  }

  private async countInRedis(client: string, window: number): Promise<number | undefined> {
    const key = `${this.redis.namespace}:rate:${window}:${digest(client)}`;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), REDIS_CALL_TIMEOUT_MS);
    });
    try {
      const counting = this.redis
        .client!.multi()
        .incr(key)
        .pExpire(key, this.windowMs * 2)
        .exec()
        .then((replies) => Number(replies[0]));
      return await Promise.race([counting, timeout]);
    } catch (error) {
      this.redis.warn('Redis rate limit', error as Error);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Client addresses are not written to Redis as they are. */
const digest = (text: string) => createHash('sha256').update(text).digest('base64url').slice(0, 22);
