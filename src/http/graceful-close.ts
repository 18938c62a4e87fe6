import type { FastifyInstance } from 'fastify';

/**
 * A graceful stop closes the listener and the idle connections; the requests in flight then finish with
 * `Connection: close`, since a client that keeps its connections open (a proxy) would otherwise hold the stop up
 * until the shutdown timeout.
 */
export function closeConnectionsWhenClosing(fastify: FastifyInstance): void {
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('Connection', 'close');
    done(null, payload);
  });
}
