import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  /** The path it was POSTed to: each endpoint of a test can have its own. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/**
 * A webhook receiver on a port of this machine: it keeps every request, and answers as `answer` says (a status, a
 * status later, or `hang` to never answer).
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  /** The requests answered 2xx while their sender was still connected. */
  readonly answeredOk = new Set<Received>();
  answer: (request: Received, index: number) => number | Promise<number> | 'hang' = () => 200;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(path = '/hooks'): Promise<WebhookReceiver> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const receiver = new WebhookReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const received = {
          path: request.url ?? '/',
          headers: request.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        };
        const index = receiver.received.push(received) - 1;
        const answer = receiver.answer(received, index);
        if (answer === 'hang') return;
        if (typeof answer === 'number') {
          response.writeHead(answer).end('ok');
          if (answer >= 200 && answer < 300) receiver.answeredOk.add(received);
          return;
        }
        void Promise.resolve(answer).then((status) => {
          if (response.destroyed) return;
          response.writeHead(status).end('ok');
          if (status >= 200 && status < 300) receiver.answeredOk.add(received);
        });
      });
    });
    return receiver;
  }

  /** The requests sent to `path` (under the receiver's URL). */
  at(path: string): Received[] {
    const full = new URL(`${this.url}/${path}`).pathname;
    return this.received.filter((received) => received.path === full);
  }

  /** The requests whose body is an event of `type` (sent to `path`, when given). */
  ofType(type: string, path?: string): (Received & { event: any })[] {
    return (path === undefined ? this.received : this.at(path))
      .map((received) => ({ ...received, event: JSON.parse(received.body) }))
      .filter((received) => received.event.type === type);
  }

  /** Waits until `done` holds of what was received (or fails after `ms`). */
  async until(done: (received: Received[]) => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done(this.received)) {
      if (Date.now() > deadline) throw new Error(`the receiver did not get what was expected in ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
