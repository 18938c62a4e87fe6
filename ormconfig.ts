import { join } from 'node:path';
import { DataSource, DataSourceOptions } from 'typeorm';
import { GuardedPgClient } from './src/database/guarded-pg-client';
import { SnakeNamingStrategy } from './src/database/snake-naming.strategy';

/**
 * The one TypeORM configuration, used by the app, the tests and the TypeORM CLI.
 * Schema changes are migrations only: `synchronize` stays off everywhere.
 *
 * With `replicaUrls`, TypeORM's replication: a pool for the primary and one per replica. Its default mode stays
 * `master`: TypeORM would otherwise send every find and query builder outside a transaction to a random replica,
 * sign-in and session lookups included, however far behind. The reads that may use a replica choose one through
 * ConsistentReads (src/database/consistent-reads.ts), which knows how far each has replayed.
 */
export function dataSourceOptions(url: string, poolSize = 10, replicaUrls: string[] = []): DataSourceOptions {
  return {
    type: 'postgres',
    ...(replicaUrls.length
      ? {
          replication: {
            master: { url },
            slaves: replicaUrls.map((replica) => ({ url: replica })),
            defaultMode: 'master',
          },
        }
      : { url }),
    namingStrategy: new SnakeNamingStrategy(),
    entities: [join(__dirname, 'src/**/*.entity.{ts,js}')],
    migrations: [join(__dirname, 'src/database/migrations/*.{ts,js}')],
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    poolSize,
    extra: { connectionTimeoutMillis: 5000, application_name: 'logbook', Client: GuardedPgClient },
  };
}

/**
 * The DataSource the TypeORM CLI loads (`npx typeorm-ts-node-commonjs -d ormconfig.ts ...`), on DATABASE_URL.
 * Constructing it opens no connection; the app builds its own from {@link dataSourceOptions} and its settings.
 */
export default new DataSource(dataSourceOptions(process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/logbook'));
