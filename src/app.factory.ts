import { HttpStatus, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { AppModule } from './app.module';
import { RequestContextStore } from './common/context/request-context';
import { AppException } from './common/http/app.exception';
import { shedLoad } from './common/http/load-shedding';
import { API_PREFIX } from './common/http/envelope.interceptor';
import { requestIdFor } from './common/http/request-id';
import { pickLanguage } from './common/i18n/language';
import { createLogger, PinoNestLogger } from './common/logging/logger';
import { Settings } from './config/settings';
import { buildOpenApiDocument } from './openapi/openapi-document';

export interface AppOptions {
  /** Where the JSON log lines go (default: stdout). */
  logDestination?: DestinationStream;
  logger?: Logger;
  /** Extra modules, for tests. */
  extraModules?: Type<unknown>[];
}

/** Builds the whole application, initialised but not yet listening: used by main.ts and the tests. */
export async function createApp(settings: Settings, options: AppOptions = {}): Promise<NestFastifyApplication> {
  const logger = options.logger ?? createLogger(settings.logLevel, options.logDestination);
  const app = await createNestApp(settings, logger, options.extraModules, false);
  const fastify = app.getHttpAdapter().getInstance();
  configureFastify(fastify, logger, settings.bodyLimitBytes);
  shedLoad(fastify, settings.concurrencyLimit);
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
    customSiteTitle: 'Logbook API',
    swaggerOptions: { persistAuthorization: true, displayRequestDuration: true },
  });
  await app.init();
  return app;
}

/** The OpenAPI document, from the application's modules in preview mode: no provider runs, no database is needed. */
export async function createOpenApiDocument(
  settings: Settings,
  extraModules: Type<unknown>[] = [],
): Promise<OpenAPIObject> {
  const app = await createNestApp(settings, createLogger('silent'), extraModules, true);
  try {
    return buildOpenApiDocument(app);
  } finally {
    await app.close();
  }
}

async function createNestApp(
  settings: Settings,
  logger: Logger,
  extraModules: Type<unknown>[] = [],
  preview: boolean,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: settings.bodyLimitBytes,
    trustProxy: settings.trustProxy,
    genReqId: requestIdFor,
    requestIdHeader: false,
    // While closing, Node hands over only requests already under way on an open connection: they are served (the
    // database is still open), not answered with Fastify's bare, unenveloped 503.
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(settings, extraModules), adapter, {
    logger: new PinoNestLogger(logger),
    bodyParser: false,
    abortOnError: false,
    preview,
  });
  app.setGlobalPrefix(API_PREFIX.slice(1), { exclude: ['health'] });
  return app;
}

function configureFastify(fastify: FastifyInstance, logger: Logger, bodyLimit: number): void {
  // JSON only: other bodies get 415 from Fastify, malformed JSON a 400 in the envelope.
  fastify.removeAllContentTypeParsers();
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    void parseJson(request, body as string, (error, value) =>
      error ? done(new AppException(HttpStatus.BAD_REQUEST, 'invalidJson'), undefined) : done(null, value),
    );
  });

  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('X-Request-Id', request.id);
    done();
  });
  // A graceful stop closes the listener and the idle connections; the requests in flight then finish with
  // `Connection: close`, since a client that keeps its connections open (a proxy) would otherwise hold the stop up
  // until the shutdown timeout.
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('Connection', 'close');
    done(null, payload);
  });
  // Handlers, services and repositories read the request's context from here, without it being passed by hand.
  fastify.addHook('preHandler', (request, _reply, done) => {
    const userAgent = request.headers['user-agent'];
    RequestContextStore.run(
      {
        requestId: request.id,
        ipAddress: request.ip,
        userAgent: userAgent ? userAgent.slice(0, 500) : null,
        language: pickLanguage(request.headers['accept-language']),
        noCache: /\bno-(cache|store)\b/i.test(request.headers['cache-control'] ?? ''),
      },
      done,
    );
  });
  // One line per request; never a body, a token or a query string.
  fastify.addHook('onResponse', (request, reply, done) => {
    if (!logger.isLevelEnabled('info')) return done();
    logger.info(
      {
        requestId: request.id,
        method: request.method,
        route: request.routeOptions.url ?? request.url.split('?')[0],
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request completed',
    );
    done();
  });
}
