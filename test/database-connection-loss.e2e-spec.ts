import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../ormconfig';
import { renderError } from '../src/common/http/error-response';
import { sql } from './helpers/factories';

describe('a pooled connection that PostgreSQL ends while no query runs on it', () => {
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = await new DataSource({ ...dataSourceOptions(process.env.TEST_DATABASE_URL!, 2) }).initialize();
  });
  afterAll(async () => {
    await dataSource.destroy();
  });

  it('does not end the process; its next query fails as a 503 and the pool goes on with a new one', async () => {
    const pool = (dataSource.driver as unknown as { master: Pool }).master;
    // Checked out and between queries: pg-pool has taken its own error listener off, as when it hands a client to
    // TypeORM, which attaches one only later.
    const client = await pool.connect();
    const [{ pid }] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
    await sql('SELECT pg_terminate_backend($1)', [pid]);
    // The server's FATAL message arrives as an error event on the idle client (unhandled, it would crash jest here).
    await sleep(300);

    const failure = await client.query('SELECT 1').then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect(renderError(failure, 'r', 'en').status).toBe(503);
    client.release(failure);
    expect(await dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });
});
