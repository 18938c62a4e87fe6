import { Type } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Writable } from 'node:stream';
import { createApp } from '../../src/app.factory';
import { createLogger } from '../../src/common/logging/logger';
import { testSettings } from './settings';

export interface TestApp {
  app: NestFastifyApplication;
  baseUrl: string;
  /** Every JSON log line the app wrote, parsed. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** An app of its own for a test that needs other settings, extra probe modules, or its log lines. */
export async function startTestApp(
  overrides: Record<string, string | undefined> = {},
  extraModules: Type<unknown>[] = [],
): Promise<TestApp> {
  const settings = testSettings({ LOG_LEVEL: 'info', ...overrides });
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const app = await createApp(settings, { logger: createLogger(settings.logLevel, destination), extraModules });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, baseUrl: await app.getUrl(), logs, close: () => app.close() };
}
