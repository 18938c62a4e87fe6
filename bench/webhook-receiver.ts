import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The fastest receiver there can be, for the bench: it answers 204 to every POST at once and counts the distinct
 * event ids it was sent (at least once: the same id twice counts once).
 */
export class BenchWebhookReceiver {
  readonly ids = new Set<string>();
  requests = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<BenchWebhookReceiver> {
    const server = createServer();
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const receiver = new BenchWebhookReceiver(
      server,
      `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    );
    server.on('request', (request, response) => {
      receiver.requests += 1;
      const id = request.headers['webhook-id'];
      if (typeof id === 'string') receiver.ids.add(id);
      request.resume();
      request.on('end', () => response.writeHead(204).end());
    });
    return receiver;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
