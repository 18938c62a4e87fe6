import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { PoolClient } from 'pg';
import QueryStream from 'pg-query-stream';
import type { EntityManager } from 'typeorm';
import { pgTarget } from './pg-access';

/*
 * How repositories (and only they) run SQL:
 * - a query builder or the entity repository for what TypeORM says well;
 * - raw SQL through {@link sql}: on the transaction's connection for a Tx, where the read was sent for a ReadDb,
 *   and always answering rows; `prepared` for hot statements of fixed text;
 * - a streamed read through {@link streamSql}, on a connection of its own (ConsistentReads.stream leases it).
 */

/**
 * Runs raw SQL on `db` and answers its rows (for UPDATE/DELETE ... RETURNING too). `prepared`: as a named prepared
 * statement, parsed and planned once per connection, for hot statements whose text does not vary with the values.
 */
export async function sql<T extends object>(
  db: EntityManager,
  text: string,
  values: unknown[] = [],
  options: { prepared?: boolean } = {},
): Promise<T[]> {
  if (options.prepared) return preparedQuery<T>(db, text, values);
  return returnedRows<T>(await db.query(text, values));
}

/**
 * Streams the rows of `text` on `client` through a server-side cursor, one batch at a time as the reader takes them.
 * Rows come as arrays of PostgreSQL's text (`rowMode: 'array'`, no type parsing): for readers that write text.
 */
export function streamSql(client: PoolClient, text: string, values: unknown[], batchSize: number): Readable {
  return client.query(
    new QueryStream(text, values, {
      rowMode: 'array',
      types: { getTypeParser: () => (value: string) => value },
      batchSize,
    }),
  );
}

/** Escapes `%`, `_` and `\` so that a user's text matches literally inside ILIKE. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/**
 * A PostgreSQL array literal (`{"a","b\"c",NULL}`) for a text-format array parameter: what pg would build from
 * the JavaScript array, in one pass, escaping only the elements that need it (pg runs two replacements on every
 * element, which showed in the profile of 1000-row inserts). Dates are written as ISO 8601 in UTC; other values must
 * be strings or numbers.
 */
export function arrayLiteral(values: readonly (string | number | Date | null | undefined)[]): string {
  let literal = '{';
  for (let index = 0; index < values.length; index++) {
    if (index > 0) literal += ',';
    const value = values[index];
    if (value === null || value === undefined) {
      literal += 'NULL';
      continue;
    }
    const text = typeof value === 'string' ? value : value instanceof Date ? value.toISOString() : String(value);
    literal += NEEDS_ESCAPE.test(text) ? `"${text.replace(BACKSLASHES, '\\\\').replace(QUOTES, '\\"')}"` : `"${text}"`;
  }
  return `${literal}}`;
}

const NEEDS_ESCAPE = /["\\]/;
const BACKSLASHES = /\\/g;
const QUOTES = /"/g;

/** A WHERE clause built from conditions whose `$?` placeholders are numbered as they are added. */
export class SqlWhere {
  private readonly conditions: string[] = [];
  readonly values: unknown[] = [];

  add(condition: string, ...values: unknown[]): void {
    let index = 0;
    this.conditions.push(condition.replace(/\$\?/g, () => `$${this.values.push(values[index++])}`));
  }

  get sql(): string {
    return this.conditions.length ? `WHERE ${this.conditions.join(' AND ')}` : '';
  }
}

/**
 * The rows a raw UPDATE/DELETE ... RETURNING gave back: TypeORM answers those as `[rows, affectedCount]`,
 * a SELECT or INSERT as the rows themselves.
 */
function returnedRows<T>(result: unknown): T[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
    return result[0] as T[];
  }
  return result as T[];
}

/**
 * Runs `text` as a named prepared statement on the manager's connection: the transaction's own when the manager is
 * transactional, the pool's otherwise (TypeORM cannot send named statements).
 */
async function preparedQuery<T extends object>(manager: EntityManager, text: string, values: unknown[]): Promise<T[]> {
  return (await pgTarget(manager).query<T>({ name: statementName(text), text, values })).rows;
}

/** Statement names by SQL text, remembered so the hot path does not hash the same text on every call. */
const names = new Map<string, string>();
const MAX_NAMES = 10_000;

function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `q_${createHash('sha1').update(text).digest('base64url').slice(0, 24)}`;
    if (names.size >= MAX_NAMES) names.clear();
    names.set(text, name);
  }
  return name;
}
