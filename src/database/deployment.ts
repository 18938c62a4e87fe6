import { Client } from 'pg';

/**
 * This deployment's identity (migration DeploymentIdentity), read once at start-up; empty for a database without
 * Logbook's schema yet (nothing in it to keep apart), which the app then serves as it can.
 */
export async function readDeploymentId(databaseUrl: string): Promise<string> {
  const client = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const { rows } = await client
      .query<{ id: string }>('SELECT id FROM logbook_deployment')
      .catch((error: { code?: string }) => {
        if (error.code === '42P01') return { rows: [{ id: '' }] }; // undefined_table: not migrated
        throw error;
      });
    if (rows.length !== 1) throw new Error('logbook_deployment must hold exactly one row; run the migrations');
    return rows[0].id;
  } finally {
    await client.end();
  }
}
