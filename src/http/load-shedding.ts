import { HttpStatus } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { AllExceptionsFilter } from '../common/http/all-exceptions.filter';
import { AppException } from '../common/http/app.exception';
import { isExemptPath } from './exempt-paths';

/** How long a refused client should wait: about what a request admitted under the limit takes. */
const RETRY_AFTER_SECONDS = '1';

/**
 * Admission control: at most `limit` requests in progress (0: no limit). Past it, a request is answered 429 with
 * Retry-After before any work is done for it (no body read, no token checked, no database touched), so that above
 * capacity Logbook keeps answering the requests it admitted at its usual speed instead of queueing every request
 * until the database pool's wait for a connection runs out (a 503) and the clients' own timeouts fire. /health is
 * always admitted: it must tell a probe the truth under load too.
 */
export function shedLoad(fastify: FastifyInstance, limit: number): void {
  if (limit <= 0) return;
  let inProgress = 0;
  fastify.addHook('onRequest', (request, reply, done) => {
    if (inProgress >= limit && !isExemptPath(request.url)) {
      const refusal = new AppException(HttpStatus.TOO_MANY_REQUESTS, 'overloaded', {}, null, {
        'Retry-After': RETRY_AFTER_SECONDS,
      });
      return AllExceptionsFilter.reply(refusal, request, reply);
    }
    inProgress += 1;
    // 'close' comes once: when the answer has gone out, or when the client went away before it.
    reply.raw.once('close', () => (inProgress -= 1));
    done();
  });
}
