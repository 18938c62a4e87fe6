import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';

/** Event loop utilization (0..1) above which an instance counts as busy. */
export const BUSY_UTILIZATION = 0.5;

/** Requests this process has begun to serve, counted by the hook {@link countRequests} adds. */
let requestsBegun = 0;

/** Counts every request the server receives, so that background work can tell whether requests keep it busy. */
export function countRequests(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (_request, _reply, done) => {
    requestsBegun += 1;
    done();
  });
}

/**
 * Background work that gives way to requests: it is put off while the instance is busy, but never for more than
 * `maxDeferMs` in a row (0: never put off), so that a burst is served at full speed and the work is done right
 * after it, and a load that never stops still sees it done at that pace.
 */
export class BackgroundDeferral {
  private deferringSince?: number;

  constructor(private readonly maxDeferMs: number) {}

  /** Whether to put the work off now, given whether the instance is busy. */
  defer(busy: boolean, now = Date.now()): boolean {
    if (busy && this.maxDeferMs > 0) {
      this.deferringSince ??= now;
      if (now - this.deferringSince < this.maxDeferMs) return true;
    }
    this.deferringSince = undefined;
    return false;
  }
}

/**
 * Whether requests kept this instance busy since the previous look: its event loop more than half used, and
 * requests coming in. Work of its own (deliveries, say) makes the loop busy too, but without requests it is not a
 * reason to wait.
 */
export class RequestPressure {
  private loop = performance.eventLoopUtilization();
  private requests = requestsBegun;

  busy(): boolean {
    const utilization = performance.eventLoopUtilization(this.loop).utilization;
    const requests = requestsBegun - this.requests;
    this.loop = performance.eventLoopUtilization();
    this.requests = requestsBegun;
    return utilization > BUSY_UTILIZATION && requests > 0;
  }
}
