import { HttpStatus } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Settings } from '../config/settings';
import { FixedWindowCounter, WindowCount } from '../redis/fixed-window-counter';
import { RedisService } from '../redis/redis.service';
import { AllExceptionsFilter } from '../common/http/all-exceptions.filter';
import { AppException } from '../common/http/app.exception';
import { isExemptPath } from './exempt-paths';

/**
 * Requests per client address in fixed windows (aligned to the clock, so every instance agrees where a window
 * starts and ends), counted in Redis when it answers, so the limit holds for all instances together, else in this
 * process (see FixedWindowCounter). A request over the limit gets 429 in the envelope with `Retry-After` before any
 * other work is done; every counted response says where its client stands in `RateLimit-Limit`,
 * `RateLimit-Remaining` and `RateLimit-Reset` (the IETF RateLimit header fields, in seconds).
 */
export class RateLimiter {
  private readonly counter: FixedWindowCounter;

  constructor(
    private readonly settings: Settings,
    redis: RedisService,
  ) {
    this.counter = new FixedWindowCounter(redis, {
      name: 'rate',
      windowMs: settings.rateLimitWindowSeconds * 1000,
      anchor: 'clock',
    });
  }

  get enabled(): boolean {
    return this.settings.rateLimitMax > 0;
  }

  register(fastify: FastifyInstance): void {
    if (!this.enabled) return;
    // A callback hook, not an async one: counted in this process (no Redis), a request then costs no promise.
    fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      if (isExemptPath(request.url)) return done();
      if (this.counter.local) return this.answer(request, reply, done, this.counter.hitInMemory(request.ip));
      this.counter.hit(request.ip).then(
        (counted) => this.answer(request, reply, done, counted),
        (error: Error) => reply.send(error),
      );
    });
  }

  /** The RateLimit headers; then on, or (over the limit) a 429. */
  private answer(request: FastifyRequest, reply: FastifyReply, done: () => void, { count, resetMs }: WindowCount) {
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
}
