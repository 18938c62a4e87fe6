import { Agent, IncomingHttpHeaders, request } from 'node:http';
import { Client } from 'pg';
import { createLogger } from '../../src/common/logging/logger';
import { migrateDatabase } from '../../src/database/database-server';
import { createDatabase, dropDatabase } from '../setup/test-database';
import { startTestApp, TestApp } from './app';

/*
 * What the hostile-input tests share: an app on a database of its own (so that a fingerprint of every table sees
 * only that file's requests), the fingerprint, a raw HTTP client that sends what fetch would refuse or repair, and
 * the check of the error envelope.
 */

export interface IsolatedApp extends TestApp {
  databaseUrl: string;
}

/**
 * The real app on a fresh, migrated database of its own, without Redis (its cache, login counters and session state
 * stay in its memory, so nothing leaks into the shared app of the other test files) and without a request rate limit.
 */
export async function startIsolatedApp(
  name: string,
  overrides: Record<string, string | undefined> = {},
): Promise<IsolatedApp> {
  const adminUrl = process.env.TEST_ADMIN_DATABASE_URL!;
  const databaseName = `logbook_${name}_${process.pid}`;
  const databaseUrl = await createDatabase(adminUrl, databaseName);
  await migrateDatabase(databaseUrl, createLogger('silent'));
  const app = await startTestApp({
    DATABASE_URL: databaseUrl,
    REDIS_URL: undefined,
    RATE_LIMIT_MAX: '0',
    LOG_LEVEL: 'error',
    ...overrides,
  });
  return {
    ...app,
    databaseUrl,
    close: async () => {
      await app.close();
      await dropDatabase(adminUrl, databaseName);
    },
  };
}

export interface TableState {
  rows: number;
  /** max(id) where the table has an integer id column. */
  maxId: string | null;
  /** An order-independent digest of every row's text: any insert, update or delete changes it. */
  digest: string;
}

export type Fingerprint = Record<string, TableState>;

/**
 * What webhook delivery changes in the background, at any time: the outbox as its events are dispatched, the attempt
 * log, and an endpoint's `failing_since`. Left out of fingerprints: an event is written only in the statement or
 * transaction of its change, whose own table a fingerprint does cover.
 */
const BACKGROUND: Record<string, 'skip' | string[] | undefined> = {
  webhook_events: 'skip',
  webhook_deliveries: 'skip',
  webhook_endpoints: ['failing_since'],
};

/** Row counts, max ids and content digests of every table of a database, in one statement. */
export class Fingerprinter {
  private constructor(
    private readonly client: Client,
    private readonly statement: string,
    readonly tables: string[],
  ) {}

  static async open(databaseUrl: string): Promise<Fingerprinter> {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    // Tables, and partitioned tables as a whole (their monthly partitions are theirs).
    const { rows } = await client.query<{ name: string; has_id: boolean }>(
      `SELECT c.relname AS name,
              EXISTS (SELECT 1 FROM information_schema.columns
                       WHERE table_schema = 'public' AND table_name = c.relname AND column_name = 'id'
                         AND data_type IN ('bigint', 'integer', 'smallint')) AS has_id
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
    );
    const watched = rows.filter(({ name }) => BACKGROUND[name] !== 'skip');
    const statement = watched
      .map(({ name, has_id }) => {
        const ignored = BACKGROUND[name];
        const row = Array.isArray(ignored)
          ? `(to_jsonb(x) - ${ignored.map((c) => client.escapeLiteral(c)).join(' - ')})`
          : 'x';
        return (
          `SELECT ${client.escapeLiteral(name)} AS name, count(*)::int AS rows, ` +
          `${has_id ? 'max(x.id)::text' : 'NULL::text'} AS max_id, ` +
          `coalesce(sum(hashtextextended(${row}::text, 0)::numeric), 0)::text AS digest FROM ${client.escapeIdentifier(name)} x`
        );
      })
      .join(' UNION ALL ');
    return new Fingerprinter(
      client,
      statement,
      watched.map((row) => row.name),
    );
  }

  async take(): Promise<Fingerprint> {
    const { rows } = await this.client.query<{ name: string; rows: number; max_id: string | null; digest: string }>(
      this.statement,
    );
    return Object.fromEntries(rows.map((row) => [row.name, { rows: row.rows, maxId: row.max_id, digest: row.digest }]));
  }

  query<T extends object = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
    return this.client.query<T>(text, params).then((result) => result.rows);
  }

  close(): Promise<void> {
    return this.client.end();
  }
}

/** The tables whose rows differ between two fingerprints. */
export function changedTables(before: Fingerprint, after: Fingerprint): string[] {
  return Object.keys({ ...before, ...after }).filter(
    (table) => JSON.stringify(before[table]) !== JSON.stringify(after[table]),
  );
}

/** What changed in these tables, for a failure message. */
export function describeChanges(before: Fingerprint, after: Fingerprint, tables: string[]): string {
  return tables
    .map(
      (table) =>
        `${table} (rows ${before[table]?.rows} -> ${after[table]?.rows}, max id ${before[table]?.maxId} -> ${after[table]?.maxId})`,
    )
    .join(', ');
}

export interface RawRequest {
  method: string;
  /** Sent exactly as given: percent-encoding, `..` and all. */
  path: string;
  /** An array sends the header once per value. */
  headers?: Record<string, string | string[]>;
  body?: string;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The parsed body when it is JSON. */
  json: unknown;
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

/** Closes the kept-alive connections of {@link send}, so that an app can close at once and Jest can exit. */
export function closeConnections(): void {
  agent.destroy();
}

/**
 * One request over node:http, which sends bodies on GET and DELETE, duplicate headers and paths that fetch would
 * normalise. A body always goes with its Content-Length. Fails after `timeoutMs` without an answer.
 */
export function send(baseUrl: string, raw: RawRequest, timeoutMs = 15_000): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const attempt = (retry: boolean): Promise<RawResponse> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string | string[]> = { ...raw.headers };
      if (raw.body !== undefined) headers['content-length'] = String(Buffer.byteLength(raw.body));
      const outgoing = request(
        { host: url.hostname, port: url.port, method: raw.method, path: raw.path, headers, agent },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('error', reject);
          incoming.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            if (incoming.headers['content-type']?.includes('application/json')) {
              try {
                json = JSON.parse(text);
              } catch {
                json = undefined;
              }
            }
            resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, text, json });
          });
        },
      );
      outgoing.setTimeout(timeoutMs, () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        // A kept-alive socket the server closed just then: what Node's documentation says to retry, once.
        if (retry && outgoing.reusedSocket && error.code === 'ECONNRESET') resolve(attempt(false));
        else reject(error);
      });
      if (raw.body !== undefined) outgoing.write(raw.body);
      outgoing.end();
    });
  return attempt(true);
}

/** What is wrong with an error response as the error envelope: exactly `{ success, error, requestId }`. */
export function envelopeProblems(response: RawResponse): string[] {
  const problems: string[] = [];
  const body = response.json as Record<string, unknown> | undefined;
  if (!response.headers['content-type']?.includes('application/json') || !body || typeof body !== 'object') {
    return [`not a JSON envelope: ${response.headers['content-type']} ${response.text.slice(0, 200)}`];
  }
  const keys = (value: object) => Object.keys(value).sort().join(',');
  if (keys(body) !== 'error,requestId,success') problems.push(`keys ${keys(body)}`);
  if (body.success !== false) problems.push('success is not false');
  const error = body.error as Record<string, unknown> | undefined;
  if (!error || typeof error !== 'object') return [...problems, 'no error object'];
  if (keys(error) !== 'code,details,message') problems.push(`error keys ${keys(error)}`);
  if (error.code !== `HTTP_${response.status}`) problems.push(`code ${String(error.code)} for ${response.status}`);
  if (typeof error.message !== 'string' || !error.message) problems.push('no message');
  const details = error.details;
  const detailOk = (detail: unknown) =>
    !!detail &&
    typeof detail === 'object' &&
    keys(detail) === 'field,message' &&
    typeof (detail as Record<string, unknown>).field === 'string' &&
    typeof (detail as Record<string, unknown>).message === 'string';
  if (details !== null && !(Array.isArray(details) && details.every(detailOk))) problems.push('malformed details');
  if (typeof body.requestId !== 'string' || body.requestId !== response.headers['x-request-id']) {
    problems.push(
      `requestId ${String(body.requestId)} is not X-Request-Id ${String(response.headers['x-request-id'])}`,
    );
  }
  return problems;
}
