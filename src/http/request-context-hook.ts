import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isIP } from 'node:net';
import { RequestContextStore } from '../common/context/request-context';
import { pickLanguage } from '../common/i18n/language';

/** Handlers, services and repositories read the request's context from RequestContextStore, not from arguments. */
export function runHandlersInRequestContext(fastify: FastifyInstance): void {
  fastify.addHook('preHandler', (request, _reply, done) => {
    const userAgent = request.headers['user-agent'];
    RequestContextStore.run(
      {
        requestId: request.id,
        ipAddress: clientAddress(request),
        userAgent: userAgent ? userAgent.slice(0, 500) : null,
        language: pickLanguage(request.headers['accept-language']),
        noCache: /\bno-(cache|store)\b/i.test(request.headers['cache-control'] ?? ''),
      },
      done,
    );
  });
}

/** The client address as recorded. With TRUST_PROXY it is X-Forwarded-For as sent: one that is no address falls back to the peer's. */
function clientAddress(request: FastifyRequest): string {
  const ip: string | undefined = request.ip;
  return ip !== undefined && isIP(ip) !== 0 && ip.length <= 64 ? ip : (request.socket.remoteAddress as string);
}
