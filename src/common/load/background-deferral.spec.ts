import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import { BackgroundDeferral, countRequests, RequestPressure } from './background-deferral';

/** Keeps the event loop busy for `ms`, as request handling would. */
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('BackgroundDeferral', () => {
  it('puts work off while busy, at most maxDeferMs in a row, and at once again after a quiet look', () => {
    const deferral = new BackgroundDeferral(1000);
    expect(deferral.defer(false, 0)).toBe(false);
    expect(deferral.defer(true, 100)).toBe(true);
    expect(deferral.defer(true, 900)).toBe(true);
    // The bound: busy without pause, the work is done once the first deferral is maxDeferMs old...
    expect(deferral.defer(true, 1100)).toBe(false);
    // ...and the next run of deferrals starts from there.
    expect(deferral.defer(true, 1200)).toBe(true);
    expect(deferral.defer(true, 2199)).toBe(true);
    expect(deferral.defer(true, 2200)).toBe(false);
    // A look that finds the instance quiet ends the run.
    expect(deferral.defer(true, 2300)).toBe(true);
    expect(deferral.defer(false, 2400)).toBe(false);
    expect(deferral.defer(true, 2500)).toBe(true);
  });

  it('never puts work off with a bound of 0', () => {
    const deferral = new BackgroundDeferral(0);
    expect(deferral.defer(true, 0)).toBe(false);
    expect(deferral.defer(true, 10)).toBe(false);
  });
});

describe('RequestPressure', () => {
  const server = Fastify();
  let url: string;

  beforeAll(async () => {
    countRequests(server);
    server.get('/', (_request, reply) => {
      spin(40);
      void reply.send('ok');
    });
    url = await server.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => server.close());

  it('is busy only while requests come in and the event loop is mostly used', async () => {
    const pressure = new RequestPressure();
    // Requests that take the loop: busy.
    for (let i = 0; i < 5; i += 1) expect((await fetch(url)).status).toBe(200);
    expect(pressure.busy()).toBe(true);
    // The loop as busy, with work of the process's own and no request: not busy.
    spin(200);
    expect(pressure.busy()).toBe(false);
    // Requests, but an idle loop in between: not busy.
    expect((await fetch(url)).status).toBe(200);
    await sleep(500);
    expect(pressure.busy()).toBe(false);
  });
});
