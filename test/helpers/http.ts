import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OpenApiResponseValidator, UndocumentedOperation } from './openapi-validator';

let validator: OpenApiResponseValidator | undefined;

/**
 * Every JSON response a test receives is checked against the committed openapi.json: the schema of its operation
 * and status. An undocumented status of a documented operation fails too. Routes the document does not have (an
 * unknown route's 404, test-only probes) are not checked.
 */
function checkAgainstDocument(
  method: string,
  url: URL,
  status: number,
  contentType: string | null,
  body: unknown,
): void {
  if (!contentType?.includes('application/json') || body === undefined) return;
  validator ??= new OpenApiResponseValidator(
    JSON.parse(readFileSync(join(__dirname, '..', '..', 'openapi.json'), 'utf8')),
  );
  let problems: string[];
  try {
    problems = validator.problems(method, url.pathname, status, body);
  } catch (error) {
    if (error instanceof UndocumentedOperation) return;
    throw error;
  }
  if (problems.length) {
    throw new Error(
      `${method} ${url.pathname} ${status} does not match openapi.json:\n  ${problems.join('\n  ')}\n${JSON.stringify(body)}`,
    );
  }
}

export interface HttpResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  method?: string;
  /** Sent as JSON unless it is a string (sent as is). */
  body?: unknown;
  headers?: Record<string, string>;
  token?: string;
}

/** Speaks HTTP to a running app: the shared one of the test run unless `baseUrl` says otherwise. */
export async function http<T = any>(
  path: string,
  options: RequestOptions = {},
  baseUrl = sharedBaseUrl(),
): Promise<HttpResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const url = new URL(path, baseUrl);
  const method = options.method ?? 'GET';
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  checkAgainstDocument(method, url, response.status, response.headers.get('content-type'), parsed);
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

export function sharedBaseUrl(): string {
  const url = process.env.TEST_BASE_URL;
  if (!url) throw new Error('TEST_BASE_URL is not set: run the tests through jest (global setup)');
  return url;
}
