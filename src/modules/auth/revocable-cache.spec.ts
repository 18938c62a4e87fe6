import { RevocableCache } from './revocable-cache';

describe('RevocableCache', () => {
  it('asks the loader once, then answers from memory until the entry is dropped', async () => {
    const cache = new RevocableCache<{ userId: number }>(10, 60_000);
    let loads = 0;
    const load = () => {
      loads += 1;
      return Promise.resolve({ userId: 1 });
    };
    await cache.get('a', true, load);
    await expect(cache.get('a', true, load)).resolves.toEqual({ userId: 1 });
    expect(loads).toBe(1);
    cache.deleteWhere((value) => value.userId === 1);
    await cache.get('a', true, load);
    expect(loads).toBe(2);
  });

  it('never remembers when not cacheable, nor a null answer, nor one that does not fit', async () => {
    const cache = new RevocableCache<{ userId: number }>(10, 60_000);
    let loads = 0;
    const load = (value: { userId: number } | null) => () => {
      loads += 1;
      return Promise.resolve(value);
    };
    await cache.get('a', false, load({ userId: 1 }));
    await cache.get('a', true, load(null));
    await expect(cache.get('a', true, load(null))).resolves.toBeNull();
    expect(loads).toBe(3);
    await cache.get('b', true, load({ userId: 1 }));
    await expect(cache.get('b', true, load({ userId: 2 }), (value) => value.userId === 2)).resolves.toEqual({
      userId: 2,
    });
    expect(loads).toBe(5);
  });

  it('does not remember an answer read while a revocation came in', async () => {
    const cache = new RevocableCache<{ userId: number }>(10, 60_000);
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const pending = cache.get('a', true, async () => {
      await slow;
      return { userId: 1 };
    });
    cache.delete('a');
    release();
    await expect(pending).resolves.toEqual({ userId: 1 });
    let loads = 0;
    await cache.get('a', true, () => {
      loads += 1;
      return Promise.resolve({ userId: 1 });
    });
    expect(loads).toBe(1);
  });

  it('forgets the oldest entry to make room, and entries past their time', async () => {
    const cache = new RevocableCache<number>(2, 60_000);
    for (const key of ['a', 'b', 'c']) await cache.get(key, true, () => Promise.resolve(1));
    let loads = 0;
    const count = () => {
      loads += 1;
      return Promise.resolve(2);
    };
    await cache.get('c', true, count);
    await cache.get('a', true, count);
    expect(loads).toBe(1);
    const expiring = new RevocableCache<number>(2, -1);
    await expiring.get('a', true, () => Promise.resolve(1));
    await expect(expiring.get('a', true, () => Promise.resolve(7))).resolves.toBe(7);
  });
});
