import { createServer, Server, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FaultRedis, waitFor } from '../../test/faults/kit';
import { MACHINE_REDIS, readyRedisService, redisService, timed } from '../../test/helpers/redis';
import { NO_ANSWER, REDIS_CALL_BUDGET_MS, REDIS_PAUSE_AFTER_FAILURE_MS, RedisService } from './redis.service';

describe('RedisService.run: one deadline and one breaker for every Redis command', () => {
  const services: RedisService[] = [];
  const track = (redis: RedisService) => (services.push(redis), redis);
  afterEach(() => {
    for (const redis of services.splice(0)) redis.onApplicationShutdown();
  });

  it('without REDIS_URL sends nothing and answers NO_ANSWER at once', async () => {
    const redis = redisService();
    const command = jest.fn(() => Promise.resolve('never'));
    expect(await redis.run('test', command)).toBe(NO_ANSWER);
    expect(command).not.toHaveBeenCalled();
    expect(redis.available).toBe(false);
  });

  it('answers with the command’s reply while Redis answers', async () => {
    const redis = track(await readyRedisService(MACHINE_REDIS));
    const key = `${redis.namespace}:spec`;
    expect(await redis.run('set', (client) => client.set(key, 'value', { PX: 5000 }))).toBe('OK');
    expect(await redis.run('get', (client) => client.get(key))).toBe('value');
    expect(redis.available).toBe(true);
    expect(await redis.ping()).toBe(true);
  });

  it('an answer that arrived while the event loop was held up past the budget still counts', async () => {
    const redis = track(await readyRedisService(MACHINE_REDIS));
    const pending = redis.run('ping', (client) => client.ping());
    // The command is written; then the process is busy while its answer arrives.
    await new Promise((written) => setImmediate(written));
    const until = performance.now() + REDIS_CALL_BUDGET_MS + 100;
    while (performance.now() < until);
    expect(await pending).toBe('PONG');
    expect(redis.available).toBe(true);
  });

  it('after a failed command leaves Redis alone for every feature, then sends again', async () => {
    const redis = track(await readyRedisService(MACHINE_REDIS));
    const failed = await redis.run('bad', (client) => client.sendCommand(['NO-SUCH-COMMAND']));
    expect(failed).toBe(NO_ANSWER);
    expect(redis.available).toBe(false);
    const other = jest.fn((client: NonNullable<RedisService['client']>) => client.ping());
    expect(await redis.run('another feature', other)).toBe(NO_ANSWER);
    expect(other).not.toHaveBeenCalled();
    await sleep(REDIS_PAUSE_AFTER_FAILURE_MS + 50);
    expect(await redis.run('another feature', other)).toBe('PONG');
  });

  it('a PING that answers ends the pause at once', async () => {
    const redis = track(await readyRedisService(MACHINE_REDIS));
    await redis.run('bad', (client) => client.sendCommand(['NO-SUCH-COMMAND']));
    expect(redis.available).toBe(false);
    expect(await redis.ping()).toBe(true);
    expect(await redis.run('get', (client) => client.ping())).toBe('PONG');
  });

  it('answers at once while connected to a server that never completes the handshake', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((listening) => silent.listen(0, '127.0.0.1', listening));
    const port = (silent.address() as { port: number }).port;
    const redis = redisService(`redis://127.0.0.1:${port}`);
    try {
      await sleep(100);
      const { value, ms } = await timed(() => redis.run('get', (client) => client.get('key')));
      expect(value).toBe(NO_ANSWER);
      expect(ms).toBeLessThan(50);
      expect((await timed(() => redis.ping())).ms).toBeLessThan(50);
    } finally {
      redis.onApplicationShutdown();
      for (const socket of sockets) socket.destroy();
      await new Promise((closed) => silent.close(closed));
    }
  });

  describe('with a frozen Redis (SIGSTOP: connections open, no answers)', () => {
    let server: FaultRedis;
    beforeAll(async () => {
      server = await FaultRedis.start();
    });
    afterAll(async () => {
      await server?.kill();
    });

    it('waits one budget, then answers every feature at once until the pause lapses; works again after SIGCONT', async () => {
      const redis = track(await readyRedisService(server.url));
      server.pause();
      try {
        const first = await timed(() => redis.run('get', (client) => client.get('key')));
        expect(first.value).toBe(NO_ANSWER);
        expect(first.ms).toBeGreaterThanOrEqual(REDIS_CALL_BUDGET_MS - 5);
        expect(first.ms).toBeLessThan(REDIS_CALL_BUDGET_MS + 750);
        // The connection is still open: only the breaker keeps the next commands from waiting.
        expect(redis.ready).toBe(true);
        const next = await timed(() => redis.run('publish', (client) => client.publish('channel', 'message')));
        expect(next.value).toBe(NO_ANSWER);
        expect(next.ms).toBeLessThan(50);
        // The health check's PING is sent even while paused, and still within the budget.
        const ping = await timed(() => redis.ping());
        expect(ping.value).toBe(false);
        expect(ping.ms).toBeLessThan(REDIS_CALL_BUDGET_MS + 750);
      } finally {
        server.resume();
      }
      await waitFor('Redis to answer again', () => redis.ping(), 5000, 50);
      expect(await redis.run('get', (client) => client.ping())).toBe('PONG');
    });
  });
});
