import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { EmbeddedPostgres } from '../../src/database/embedded-postgres';

export interface TestDatabaseServer {
  /** A URL of the server's maintenance database, for creating and dropping databases. */
  adminUrl: string;
  stop(): Promise<void>;
}

/** DATABASE_URL's server when set (CI: the machine's PostgreSQL); otherwise a throw-away embedded one. */
export async function startTestDatabaseServer(): Promise<TestDatabaseServer> {
  const external = process.env.DATABASE_URL;
  if (external) return { adminUrl: external, stop: () => Promise.resolve() };
  const dataDir = join(mkdtempSync(join(tmpdir(), 'logbook-test-')), 'pg');
  const embedded = new EmbeddedPostgres({ dataDir });
  await embedded.start();
  return {
    adminUrl: embedded.url('postgres'),
    stop: async () => {
      await embedded.stop();
      rmSync(join(dataDir, '..'), { recursive: true, force: true });
    },
  };
}

/** Creates a fresh, empty database on the server and returns its URL. */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
