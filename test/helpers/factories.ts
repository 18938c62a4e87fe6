import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { http } from './http';

export interface TestUser {
  id: number;
  email: string;
  name: string;
  password: string;
  role: 'ADMIN' | 'INSTRUCTOR' | 'PARTICIPANT';
  accessToken: string;
  refreshToken: string;
}

let sequence = 0;

/** A unique email for this run. */
export function uniqueEmail(prefix = 'user'): string {
  sequence += 1;
  return `${prefix}-${sequence}-${randomUUID().slice(0, 8)}@example.com`;
}

/** Registers a new PARTICIPANT through the API and returns it signed in. */
export async function createUser(
  overrides: { email?: string; name?: string; password?: string } = {},
  baseUrl?: string,
): Promise<TestUser> {
  const body = {
    email: overrides.email ?? uniqueEmail(),
    name: overrides.name ?? 'Test User',
    password: overrides.password ?? 'correct horse battery',
  };
  const res = await http('/api/v1/auth/register', { method: 'POST', body }, baseUrl);
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${res.text}`);
  return {
    ...res.body.data.user,
    password: body.password,
    accessToken: res.body.data.accessToken,
    refreshToken: res.body.data.refreshToken,
  };
}

/** A user made ADMIN (as `npm run cli -- create-admin` would), signed in after the promotion. */
export async function createAdmin(baseUrl?: string): Promise<TestUser> {
  const user = await createUser({ email: uniqueEmail('admin') }, baseUrl);
  await sql(`UPDATE users SET role = 'ADMIN' WHERE id = $1`, [user.id]);
  return signIn(user.email, user.password, baseUrl);
}

export async function signIn(email: string, password: string, baseUrl?: string): Promise<TestUser> {
  const res = await http('/api/v1/auth/login', { method: 'POST', body: { email, password } }, baseUrl);
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`);
  return {
    ...res.body.data.user,
    password,
    accessToken: res.body.data.accessToken,
    refreshToken: res.body.data.refreshToken,
  };
}

/** Runs SQL on the test run's database, for fixtures and for looking behind the API. */
export async function sql<T = any>(
  text: string,
  params: unknown[] = [],
  url = process.env.TEST_DATABASE_URL,
): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** The audit entries about one entity, oldest first. */
export function auditEntriesFor(entityType: string, entityId: number | string): Promise<any[]> {
  return sql(`SELECT * FROM audit_logs WHERE entity_type = $1 AND entity_id = $2 ORDER BY id`, [
    entityType,
    String(entityId),
  ]);
}
