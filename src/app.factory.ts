import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import { HttpException, HttpStatus, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { isIP, Socket } from 'node:net';
import type { DestinationStream, Logger } from 'pino';
import { AppModule } from './app.module';
import { RequestContextStore } from './common/context/request-context';
import { AllExceptionsFilter } from './common/http/all-exceptions.filter';
import { AppException } from './common/http/app.exception';
import { shedLoad } from './common/http/load-shedding';
import { API_PREFIX } from './common/http/envelope.interceptor';
import { renderError } from './common/http/error-response';
import { RateLimiter } from './common/http/rate-limit';
import { requestIdFor } from './common/http/request-id';
import { unstorableJson, wellFormedJson } from './common/http/storable-json';
import { pickLanguage } from './common/i18n/language';
import { statusMessage } from './common/i18n/messages';
import { createLogger, PinoNestLogger } from './common/logging/logger';
import { Settings } from './config/settings';
import { buildOpenApiDocument } from './openapi/openapi-document';
import { RedisService } from './redis/redis.service';
import { readDeploymentId } from './database/deployment';

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
  if (settings.databaseUrl && !settings.deploymentId)
    settings.deploymentId = await readDeploymentId(settings.databaseUrl);
  const app = await createNestApp(settings, logger, options.extraModules, false);
  await registerSecurityHeaders(app, settings);
  const fastify = app.getHttpAdapter().getInstance();
  configureFastify(fastify, logger, settings.bodyLimitBytes);
  new RateLimiter(settings, app.get(RedisService)).register(fastify);
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
    frameworkErrors: badUrl,
    clientErrorHandler: clientError,
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

/** An API answers JSON only: nothing it sends may load, run or frame anything. */
const API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/** Swagger UI loads its own scripts, styles and images from /docs and calls the API on this origin. */
const DOCS_CSP =
  "default-src 'self'; base-uri 'self'; connect-src 'self'; font-src 'self' data:; form-action 'self'; " +
  "frame-ancestors 'self'; img-src 'self' data:; object-src 'none'; script-src 'self'; script-src-attr 'none'; " +
  "style-src 'self' 'unsafe-inline'";

/**
 * Helmet's security headers and X-Request-Id on every response (the CSP by path: see API_CSP and DOCS_CSP), and
 * CORS for the origins of CORS_ORIGINS only. Registered before every other hook, so that a refusal (a 429, a 404)
 * carries them too.
 */
async function registerSecurityHeaders(app: NestFastifyApplication, settings: Settings): Promise<void> {
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: false,
    // Same-origin readers only, except through CORS (which this header does not restrict).
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) => {
      // The request id too: one hook for both, since every hook costs each request a call through Fastify's chain.
      void reply
        .header('X-Request-Id', request.id)
        .header('Content-Security-Policy', /^\/docs(?:[/?]|$)/.test(request.url) ? DOCS_CSP : API_CSP);
      done();
    });
  if (!settings.corsOrigins.length) return;
  await app.register(fastifyCors, {
    origin: settings.corsOrigins.includes('*') ? '*' : settings.corsOrigins,
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: [
      'Authorization',
      'Content-Type',
      'Accept-Language',
      'Cache-Control',
      'Idempotency-Key',
      'X-Request-Id',
    ],
    exposedHeaders: [
      'X-Request-Id',
      'X-Cache',
      'Location',
      'Content-Disposition',
      'Retry-After',
      'RateLimit-Limit',
      'RateLimit-Remaining',
      'RateLimit-Reset',
    ],
    // Bearer tokens, never cookies: no credentialed requests.
    credentials: false,
    maxAge: 600,
  });
}

function configureFastify(fastify: FastifyInstance, logger: Logger, bodyLimit: number): void {
  // JSON only: other bodies get 415 from Fastify, malformed JSON a 400 in the envelope.
  fastify.removeAllContentTypeParsers();
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    void parseJson(request, body as string, (error, value) => {
      if (error) return done(new AppException(HttpStatus.BAD_REQUEST, 'invalidJson'), undefined);
      const unstorable = unstorableJson(value, 'body', body as string);
      if (unstorable) return done(new AppException(HttpStatus.BAD_REQUEST, 'validationFailed', {}, [unstorable]));
      done(null, wellFormedJson(value, body as string));
    });
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
        ipAddress: clientAddress(request),
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

/** A path the router cannot take (malformed percent-encoding, a parameter over maxParamLength): 400 in the envelope. */
function badUrl(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  void reply.header('X-Request-Id', request.id);
  const malformed = error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH';
  AllExceptionsFilter.reply(
    malformed
      ? new AppException(HttpStatus.BAD_REQUEST, 'validationFailed', {}, [
          { field: 'path', message: 'path must be a well-formed URL with parameters of at most 500 characters' },
        ])
      : error,
    request,
    reply,
  );
}

/** What Node's HTTP parser refuses before any route (headers over its limit, malformed HTTP, too slow), in the envelope. */
function clientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const requestId = randomUUID();
  const { body } = renderError(new HttpException(statusMessage(status, 'en'), status), requestId, 'en');
  const text = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy(error);
}

/** The client address as recorded. With TRUST_PROXY it is X-Forwarded-For as sent: one that is no address falls back to the peer's. */
function clientAddress(request: FastifyRequest): string {
  const ip: string | undefined = request.ip;
  return ip !== undefined && isIP(ip) !== 0 && ip.length <= 64 ? ip : (request.socket.remoteAddress as string);
}
