import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../ormconfig';
import { createLogger } from '../common/logging/logger';
import { loadSettings } from '../config/settings';
import { openDatabaseServer } from './database-server';
import { pendingSchemaChanges, runMigrations } from './migrations-runner';

/**
 * `npm run migration:check`: fails when the entities and the migrations disagree.
 * `npm run migration:generate -- Name`: writes the migration that makes them agree.
 * Both work on a scratch database of the embedded server (or DATABASE_URL's), dropped afterwards.
 */
async function main(command: string | undefined, name: string | undefined): Promise<number> {
  if (command !== 'check' && !(command === 'generate' && name && /^[A-Za-z][A-Za-z0-9]*$/.test(name))) {
    process.stderr.write('usage: migration-tool check | migration-tool generate <PascalCaseName>\n');
    return 2;
  }
  const logger = createLogger('warn');
  const server = await openDatabaseServer(loadSettings(process.env), logger);
  const scratch = `logbook_migration_${process.pid}`;
  const admin = new Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${scratch}`);
    const url = new URL(server.url);
    url.pathname = `/${scratch}`;
    const dataSource = new DataSource(dataSourceOptions(url.toString(), 2));
    await dataSource.initialize();
    try {
      await runMigrations(dataSource);
      if (command === 'check') return report(await pendingSchemaChanges(dataSource));
      const sql = await dataSource.driver.createSchemaBuilder().log();
      if (sql.upQueries.length === 0) {
        process.stdout.write('entities and migrations agree: nothing to generate\n');
        return 0;
      }
      const timestamp = Date.now();
      const file = resolve(process.cwd(), 'src/database/migrations', `${timestamp}-${name}.ts`);
      const statements = (queries: { query: string }[]) =>
        queries.map((query) => `    await queryRunner.query(${JSON.stringify(query.query)});`).join('\n');
      writeFileSync(
        file,
        `import { MigrationInterface, QueryRunner } from 'typeorm';\n\n` +
          `export class ${name}${timestamp} implements MigrationInterface {\n` +
          `  name = '${name}${timestamp}';\n\n` +
          `  public async up(queryRunner: QueryRunner): Promise<void> {\n${statements(sql.upQueries)}\n  }\n\n` +
          `  public async down(queryRunner: QueryRunner): Promise<void> {\n${statements(sql.downQueries.reverse())}\n  }\n}\n`,
      );
      process.stdout.write(`wrote ${file}\n`);
      return 0;
    } finally {
      await dataSource.destroy();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`);
    await admin.end();
    await server.embedded?.stop();
  }
}

function report(pending: string[]): number {
  if (pending.length === 0) {
    process.stdout.write('entities and migrations agree\n');
    return 0;
  }
  process.stderr.write(`entities and migrations disagree; a migration would run:\n${pending.join(';\n')};\n`);
  return 1;
}

main(process.argv[2], process.argv[3]).then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
