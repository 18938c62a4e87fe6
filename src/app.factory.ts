import { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { OpenAPIObject } from '@nestjs/swagger';
import type { DestinationStream, Logger } from 'pino';
import { countRequests } from './common/load/background-deferral';
import { AppModule } from './app.module';
import { API_PREFIX } from './common/http/envelope.interceptor';
import { shedLoad } from './http/load-shedding';
import { RateLimiter } from './http/rate-limit';
import { createLogger, PinoNestLogger } from './common/logging/logger';
import { Settings } from './config/settings';
import { readDeploymentId } from './database/deployment';
import { logRequests } from './http/access-log';
import { serveApiDocs } from './http/api-docs';
import { serveConsole } from './http/console';
import { createFastifyAdapter } from './http/fastify-adapter';
import { closeConnectionsWhenClosing } from './http/graceful-close';
import { acceptJsonBodies } from './http/json-body';
import { runHandlersInRequestContext } from './http/request-context-hook';
import { registerSecurityHeaders } from './http/security-headers';
import { buildOpenApiDocument } from './openapi/openapi-document';
import { RedisService } from './redis/redis.service';

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
  // Hooks run in the order registered: the security headers first, so that every refusal after them carries them.
  await registerSecurityHeaders(app, settings);
  const fastify = app.getHttpAdapter().getInstance();
  acceptJsonBodies(fastify, settings.bodyLimitBytes);
  closeConnectionsWhenClosing(fastify);
  runHandlersInRequestContext(fastify);
  logRequests(fastify, logger);
  countRequests(fastify);
  new RateLimiter(settings, app.get(RedisService)).register(fastify);
  shedLoad(fastify, settings.concurrencyLimit);
  serveApiDocs(app);
  await serveConsole(app);
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
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(settings, extraModules),
    createFastifyAdapter(settings),
    { logger: new PinoNestLogger(logger), bodyParser: false, abortOnError: false, preview },
  );
  app.setGlobalPrefix(API_PREFIX.slice(1), { exclude: ['health'] });
  return app;
}
