import { Client } from 'pg';

/** This deployment's identity (migration DeploymentIdentity), read once at start-up. */
export async function readDeploymentId(databaseUrl: string): Promise<string> {
  const client = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>('SELECT id FROM logbook_deployment');
    if (rows.length !== 1) throw new Error('logbook_deployment must hold exactly one row; run the migrations');
    return rows[0].id;
  } finally {
    await client.end();
  }
}
