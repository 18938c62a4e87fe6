/**
 * What a credential check read from the database (a live login, an API key with its user), remembered for a while
 * so that the hot path asks the database once per credential rather than once per request. Revocations drop entries;
 * a generation counter, bumped by every drop, keeps an answer read across a revocation from being remembered. The
 * oldest entry makes room for a new one.
 */
export class RevocableCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  private generation = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {}

  /**
   * The remembered value of `key` when `cacheable` and `fits` it, else `load`'s answer, remembered when `cacheable`
   * and not null. `cacheable` is false when revocations might be missed (no subscription to them).
   */
  async get(
    key: string,
    cacheable: boolean,
    load: () => Promise<V | null>,
    fits: (value: V) => boolean = () => true,
  ): Promise<V | null> {
    const cached = cacheable ? this.entries.get(key) : undefined;
    if (cached && cached.until > Date.now() && fits(cached.value)) return cached.value;
    const generation = this.generation;
    const value = await load();
    if (value !== null && cacheable && generation === this.generation) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(key, { value, until: Date.now() + this.ttlMs });
    }
    return value;
  }

  delete(key: string): void {
    this.generation += 1;
    this.entries.delete(key);
  }

  /** Drops every entry whose value `matches`. */
  deleteWhere(matches: (value: V) => boolean): void {
    this.generation += 1;
    for (const [key, entry] of this.entries) if (matches(entry.value)) this.entries.delete(key);
  }

  clear(): void {
    this.generation += 1;
    this.entries.clear();
  }
}
