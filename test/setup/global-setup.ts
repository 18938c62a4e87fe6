import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app.factory';
import { createLogger } from '../../src/common/logging/logger';
import { migrateDatabase } from '../../src/database/database-server';
import { testSettings } from '../helpers/settings';
import { createDatabase, startTestDatabaseServer, TestDatabaseServer } from './test-database';

export interface TestRun {
  server: TestDatabaseServer;
  databaseName: string;
  app: NestFastifyApplication;
}

declare global {
  var __LOGBOOK_TEST_RUN__: TestRun | undefined;
}

/** The console, built as `npm run build` builds it, so that the app below serves it at /console. */
function buildConsole(): void {
  const root = join(__dirname, '..', '..');
  execFileSync(
    process.execPath,
    [
      join(root, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      'console/vite.config.ts',
      '--logLevel',
      'warn',
    ],
    { cwd: root, stdio: 'inherit' },
  );
}

/**
 * Once per `npm test`: the console built, a real PostgreSQL (embedded, or DATABASE_URL's server), a fresh migrated
 * database, and the real app listening on a free port. Test files reach them through TEST_DATABASE_URL and
 * TEST_BASE_URL.
 */
export default async function globalSetup(): Promise<void> {
  buildConsole();
  const server = await startTestDatabaseServer();
  const databaseName = `logbook_test_${process.pid}`;
  const url = await createDatabase(server.adminUrl, databaseName);
  await migrateDatabase(url, createLogger('silent'));
  const settings = testSettings({ DATABASE_URL: url });
  const app = await createApp(settings);
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.env.TEST_ADMIN_DATABASE_URL = server.adminUrl;
  process.env.TEST_DATABASE_URL = url;
  process.env.TEST_BASE_URL = await app.getUrl();
  globalThis.__LOGBOOK_TEST_RUN__ = { server, databaseName, app };
}
