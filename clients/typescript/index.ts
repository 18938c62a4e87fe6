/**
 * A typed client for the Logbook API, generated from the committed openapi.json (`npm run openapi` regenerates
 * schema.d.ts). Every path, parameter, body and response is checked by the TypeScript compiler.
 */
import createFetchClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema';

export type { components, operations, paths } from './schema';
export type LogbookClient = Client<paths>;

export interface LogbookClientOptions {
  /** The access token to send, read before every request (so a sign-in or refresh takes effect at once). */
  token?: () => string | undefined;
  /** An API key (`lbk_...`), sent as `X-API-Key`: what a service records with instead of a token. */
  apiKey?: string;
  /** For example `th` or `de`. */
  language?: string;
}

export function createLogbookClient(baseUrl: string, options: LogbookClientOptions = {}): LogbookClient {
  const client = createFetchClient<paths>({ baseUrl });
  client.use({
    onRequest({ request }) {
      const token = options.token?.();
      if (token) request.headers.set('Authorization', `Bearer ${token}`);
      if (options.apiKey) request.headers.set('X-API-Key', options.apiKey);
      if (options.language) request.headers.set('Accept-Language', options.language);
      return request;
    },
  });
  return client;
}
