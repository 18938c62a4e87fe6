import { dropDatabase } from './test-database';

export default async function globalTeardown(): Promise<void> {
  const run = globalThis.__LOGBOOK_TEST_RUN__;
  if (!run) return;
  await run.app.close();
  await dropDatabase(run.server.adminUrl, run.databaseName);
  await run.server.stop();
}
