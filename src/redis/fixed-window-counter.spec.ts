import { randomUUID } from 'node:crypto';
import { FaultRedis } from '../../test/faults/kit';
import { MACHINE_REDIS, readyRedisService, redisService, timed } from '../../test/helpers/redis';
import { FixedWindowCounter } from './fixed-window-counter';
import { REDIS_CALL_BUDGET_MS, RedisService } from './redis.service';

const MINUTE = 60_000;
/** The start of the current minute: clock-aligned windows of a minute start there. */
const minuteStart = () => Math.floor(Date.now() / MINUTE) * MINUTE;

describe('FixedWindowCounter', () => {
  const services: RedisService[] = [];
  const track = (redis: RedisService) => (services.push(redis), redis);
  afterEach(() => {
    for (const redis of services.splice(0)) redis.onApplicationShutdown();
  });

  describe.each([
    ['in process memory', () => Promise.resolve(redisService())],
    ['in Redis', () => readyRedisService(MACHINE_REDIS)],
  ])('%s', (_where, connect) => {
    it('clock-aligned windows: the count restarts exactly at a window boundary', async () => {
      const counter = new FixedWindowCounter(track(await connect()), {
        name: 'spec',
        windowMs: MINUTE,
        anchor: 'clock',
      });
      const start = minuteStart();
      const key = randomUUID();
      expect(await counter.hit(key, start)).toEqual({ count: 1, resetMs: MINUTE });
      expect(await counter.hit(key, start + MINUTE - 1)).toEqual({ count: 2, resetMs: 1 });
      expect(await counter.hit(key, start + MINUTE)).toEqual({ count: 1, resetMs: MINUTE });
      expect(await counter.peek(key, start + MINUTE + 10)).toEqual({ count: 1, resetMs: MINUTE - 10 });
      expect(await counter.hit(randomUUID(), start + 10)).toEqual({ count: 1, resetMs: MINUTE - 10 });
    });

    it('first-hit windows: a window opens at the first hit; peek does not count; reset forgets', async () => {
      const counter = new FixedWindowCounter(track(await connect()), {
        name: 'spec-first',
        windowMs: MINUTE,
        anchor: 'first-hit',
      });
      const key = randomUUID();
      expect(await counter.peek(key)).toEqual({ count: 0, resetMs: 0 });
      const first = await counter.hit(key);
      expect(first.count).toBe(1);
      expect(first.resetMs).toBeGreaterThan(MINUTE - 1000);
      expect(first.resetMs).toBeLessThanOrEqual(MINUTE);
      expect((await counter.hit(key)).count).toBe(2);
      const peeked = await counter.peek(key);
      expect(peeked.count).toBe(2);
      expect(peeked.resetMs).toBeLessThanOrEqual(first.resetMs);
      await counter.reset(key);
      expect(await counter.peek(key)).toEqual({ count: 0, resetMs: 0 });
    });
  });

  it('first-hit windows in memory end a window after the first hit', () => {
    const counter = new FixedWindowCounter(redisService(), { name: 'spec', windowMs: 1000, anchor: 'first-hit' });
    expect(counter.hitInMemory('a', 5_500)).toEqual({ count: 1, resetMs: 1000 });
    expect(counter.hitInMemory('a', 6_499)).toEqual({ count: 2, resetMs: 1 });
    expect(counter.hitInMemory('a', 6_500)).toEqual({ count: 1, resetMs: 1000 });
  });

  it('counts in Redis for every instance together', async () => {
    const [one, two] = [await readyRedisService(MACHINE_REDIS), await readyRedisService(MACHINE_REDIS)].map(track);
    // Two instances of one deployment: the same namespace.
    Object.defineProperty(two, 'namespace', { value: one.namespace });
    const options = { name: 'spec', windowMs: MINUTE, anchor: 'clock' } as const;
    const key = randomUUID();
    await new FixedWindowCounter(one, options).hit(key);
    expect((await new FixedWindowCounter(two, options).hit(key)).count).toBe(2);
  });

  it('keeps at most maxKeys in memory, expired ones dropped first, then the oldest', () => {
    const counter = new FixedWindowCounter(redisService(), {
      name: 'spec',
      windowMs: 1000,
      anchor: 'first-hit',
      maxKeys: 100,
    });
    for (let i = 0; i < 50; i += 1) counter.hitInMemory(`old-${i}`, 0);
    counter.hitInMemory('kept', 1500);
    counter.hitInMemory('kept', 1500);
    for (let i = 0; i < 49; i += 1) counter.hitInMemory(`live-${i}`, 1500);
    expect(counter.memorySize).toBe(100);
    // Full: the expired half goes, and nothing live is lost.
    counter.hitInMemory('next', 1600);
    expect(counter.memorySize).toBe(51);
    expect(counter.hitInMemory('kept', 1600).count).toBe(3);
    // Then a flood of live keys: the map never grows past maxKeys, the oldest going first.
    for (let i = 0; i < 10_000; i += 1) {
      counter.hitInMemory(`flood-${i}`, 1700);
      expect(counter.memorySize).toBeLessThanOrEqual(100);
    }
    expect(counter.hitInMemory('kept', 1700).count).toBe(1);
    expect(counter.hitInMemory('flood-9999', 1700).count).toBe(2);
  });

  it('counts in process, within the budget, while Redis is frozen', async () => {
    // The window is the clock's minute: start where the next one is more than a few seconds off, so that the hits
    // below share one.
    const intoMinute = Date.now() % MINUTE;
    if (intoMinute > MINUTE - 5000) await new Promise((resolve) => setTimeout(resolve, MINUTE - intoMinute + 50));
    const server = await FaultRedis.start();
    try {
      const redis = track(await readyRedisService(server.url));
      const counter = new FixedWindowCounter(redis, { name: 'spec', windowMs: MINUTE, anchor: 'clock' });
      const key = randomUUID();
      expect((await counter.hit(key)).count).toBe(1);
      server.pause();
      const frozen = await timed(() => counter.hit(key));
      // Redis's count is not known: this process counts on its own, from its own first hit.
      expect(frozen.value.count).toBe(1);
      expect(frozen.ms).toBeLessThan(REDIS_CALL_BUDGET_MS + 750);
      expect(counter.local).toBe(true);
      const paused = await timed(() => counter.hit(key));
      expect(paused.value.count).toBe(2);
      expect(paused.ms).toBeLessThan(50);
    } finally {
      server.resume();
      await server.kill();
    }
  });
});
