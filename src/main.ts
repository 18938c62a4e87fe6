import 'reflect-metadata';
import { createLogger } from './common/logging/logger';
import { loadSettings, SettingsError } from './config/settings';

/** Starts Logbook: settings, the database (embedded unless DATABASE_URL), migrations, then the HTTP server. */
async function bootstrap(): Promise<void> {
  const settings = loadSettingsOrExit();
  const logger = createLogger(settings.logLevel);
  // The service's modules load once the settings are found good, so a mistake in them is answered at once.
  const [{ createApp }, { migrateDatabase, openDatabaseServer }] = await Promise.all([
    import('./app.factory'),
    import('./database/database-server'),
  ]);
  const database = await openDatabaseServer(settings, logger);
  const stopDatabase = async () => database.embedded?.stop();
  try {
    settings.databaseUrl = database.url;
    await migrateDatabase(settings.databaseMigrationsUrl ?? database.url, logger);
    const app = await createApp(settings, { logger });
    await app.listen({ port: settings.port, host: settings.host });
    logger.info(
      { url: await app.getUrl() },
      'Logbook listening (API under /api/v1, docs at /docs, console at /console)',
    );

    let stopping = false;
    const shutdown = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info(`${signal} received: finishing requests in flight, then stopping`);
      setTimeout(() => {
        logger.error(`shutdown took longer than ${settings.shutdownTimeoutMs} ms; exiting`);
        process.exit(1);
      }, settings.shutdownTimeoutMs).unref();
      app
        .close()
        .then(stopDatabase)
        .then(() => {
          logger.info('stopped');
          logger.flush();
          process.exit(0);
        })
        .catch((error: Error) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        });
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  } catch (error) {
    logger.fatal({ err: error }, 'start-up failed');
    await stopDatabase();
    process.exit(1);
  }
}

function loadSettingsOrExit() {
  try {
    return loadSettings(process.env);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    process.stderr.write(`Logbook cannot start. ${error.message}\n`);
    process.exit(1);
  }
}

void bootstrap();
