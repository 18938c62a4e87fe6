import { FastifyAdapter } from '@nestjs/platform-fastify';
import { requestIdFor } from '../common/http/request-id';
import { Settings } from '../config/settings';
import { badUrl, clientError } from './client-errors';

/** Fastify as Logbook runs it: its limits, its request ids, and errors before any route answered in the envelope. */
export function createFastifyAdapter(settings: Settings): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: settings.bodyLimitBytes,
    trustProxy: settings.trustProxy,
    genReqId: requestIdFor,
    requestIdHeader: false,
    // While closing, Node hands over only requests already under way on an open connection: they are served (the
    // database is still open), not answered with Fastify's bare, unenveloped 503.
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    frameworkErrors: badUrl,
    clientErrorHandler: clientError,
  });
}
