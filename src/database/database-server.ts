import { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { dataSourceOptions } from '../../ormconfig';
import { Settings } from '../config/settings';
import { EmbeddedPostgres } from './embedded-postgres';
import { runMigrations } from './migrations-runner';

export interface DatabaseServer {
  url: string;
  /** Set when this process started an embedded server, which it must stop on the way out. */
  embedded?: EmbeddedPostgres;
}

/** DATABASE_URL when set; otherwise the embedded PostgreSQL under EMBEDDED_PG_DIR, started now. */
export async function openDatabaseServer(settings: Settings, logger: Logger): Promise<DatabaseServer> {
  if (settings.databaseUrl) return { url: settings.databaseUrl };
  const embedded = new EmbeddedPostgres({
    dataDir: settings.embeddedPgDir,
    logger: { info: (message) => logger.info(message), warn: (message) => logger.warn(message) },
  });
  return { url: await embedded.start(), embedded };
}

/** Applies pending migrations through a short-lived pool of its own (one connection holds the lock, one migrates). */
export async function migrateDatabase(url: string, logger: Logger): Promise<void> {
  const dataSource = new DataSource({ ...dataSourceOptions(url, 2), logging: false });
  await dataSource.initialize();
  try {
    const applied = await runMigrations(dataSource);
    if (applied.length) logger.info({ migrations: applied.map((migration) => migration.name) }, 'migrations applied');
  } finally {
    await dataSource.destroy();
  }
}
