import { DataSource, Migration } from 'typeorm';

/** A fixed key: one instance at a time applies migrations, the others wait and then find nothing to do. */
const MIGRATION_LOCK_KEY = 4_242_001;

/** Applies pending migrations, each in its own transaction, under an advisory lock shared by every instance. */
export async function runMigrations(dataSource: DataSource): Promise<Migration[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      return await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}

/** The SQL that would bring the schema in line with the entities: empty when entities and migrations agree. */
export async function pendingSchemaChanges(dataSource: DataSource): Promise<string[]> {
  const sql = await dataSource.driver.createSchemaBuilder().log();
  return sql.upQueries.map((query) => query.query);
}
