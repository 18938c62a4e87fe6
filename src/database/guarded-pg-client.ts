import { Client, ClientConfig } from 'pg';

/**
 * pg's Client with an `error` listener of its own from the start. pg-pool hands a pooled client over with no
 * listener, and TypeORM attaches its own only a promise tick later; when PostgreSQL ends every session (a restart),
 * its message can reach a client in that gap, and an `error` event nobody listens to ends the process. The client
 * is marked unusable all the same: its next query fails (a 503) and the pool drops it when it is released.
 */
export class GuardedPgClient extends Client {
  constructor(config?: string | ClientConfig) {
    super(config);
    this.on('error', () => undefined);
  }
}
