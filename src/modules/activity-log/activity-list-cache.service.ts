import { Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { AuthUser } from '../../common/auth/auth-user';
import { SerializedPage } from '../../common/http/api-result';
import { AppCache } from '../../cache/app-cache.service';
import { Settings } from '../../config/settings';
import { ConsistentReads, WriteScope } from '../../database/consistent-reads';
import type { WalPosition } from '../../database/wal-position';

/** A page is kept as the JSON text it is sent as: a hit is neither parsed into objects nor serialized again. */
interface Entry extends SerializedPage {
  generation: string;
}

/** What a lookup found: the page if it was current, else where the page read from the database goes. */
export interface CacheSlot {
  key: string;
  generation?: string;
  page?: SerializedPage;
  /**
   * On a miss: the WAL position the database read must see (ConsistentReads.readAt), at least that of the write
   * that made the generation, so that a lagging replica cannot fill the new generation with a page from before it.
   */
  readAfter?: WalPosition;
}

/** Generation keys outlive every list entry, so a missing one means "unknown": never serve against it. */
const GENERATION_TTL_MS = 24 * 3600_000;
const EVERYONE = 'all';

/**
 * Activity lists cached per caller and normalized query. Every write bumps a generation: the owner's, which the
 * owner's own lists are keyed on, and everyone's, which ADMIN lists are keyed on. An entry is served only while
 * its generation is current, so the first list read after a write is always a miss.
 */
@Injectable()
export class ActivityListCache {
  constructor(
    private readonly cache: AppCache,
    private readonly settings: Settings,
    private readonly reads: ConsistentReads,
  ) {}

  /**
   * The cached list if current, and where a list read now from the database is to be stored: its key, and the
   * generation it belongs to (read before the database, so that a write in between makes that entry stale at once).
   * `fresh`: the client asked not to be answered from the cache, so the entry is not even fetched.
   */
  async lookup(caller: AuthUser, query: object, fresh: boolean): Promise<CacheSlot> {
    const key = this.entryKey(caller, query);
    const scopeKey = generationKey(this.scopeOf(caller));
    const [entry, generation] = await Promise.all([
      fresh ? undefined : this.cache.get<Entry>(key),
      this.cache.get<string>(scopeKey),
    ]);
    if (entry && generation && entry.generation === generation) {
      return { key, generation, page: { data: entry.data, meta: entry.meta } };
    }
    // Read after the generation: a write records its position before it makes a new generation (invalidate).
    const readAfter = await this.reads.required([activityWriteScope(caller)]);
    if (!generation) {
      const started = randomUUID();
      await this.cache.set(scopeKey, started, GENERATION_TTL_MS);
      return { key, generation: started, readAfter };
    }
    return { key, generation, readAfter };
  }

  /** Keeps a page read from the database in the slot its lookup found. */
  async store(slot: CacheSlot, page: SerializedPage): Promise<void> {
    if (!slot.generation) return;
    await this.cache.set<Entry>(
      slot.key,
      { data: page.data, meta: page.meta, generation: slot.generation },
      this.settings.cacheTtlSeconds * 1000,
    );
  }

  /**
   * After a write to an activity of `ownerId`: the owner's lists and every ADMIN list are stale. The write's
   * position is recorded for both first, so that the reads that fill the new generations see it.
   */
  async invalidate(ownerId: number): Promise<void> {
    await this.reads.record([WriteScope.user(ownerId), WriteScope.activities]);
    await Promise.all([
      this.cache.set(generationKey(String(ownerId)), randomUUID(), GENERATION_TTL_MS),
      this.cache.set(generationKey(EVERYONE), randomUUID(), GENERATION_TTL_MS),
    ]);
  }

  private scopeOf(caller: AuthUser): string {
    return caller.role === 'ADMIN' ? EVERYONE : String(caller.id);
  }

  private entryKey(caller: AuthUser, query: object): string {
    const digest = createHash('sha256').update(stableJson(query)).digest('base64url');
    return `activities:list:${caller.id}:${caller.role}:${digest}`;
  }
}

const generationKey = (scope: string) => `activities:generation:${scope}`;

/**
 * Whose writes a caller's activity reads must see: an ADMIN reads everyone's activities, so every activity write;
 * anyone else its own, which it or an ADMIN changed. The same scopes as the cache's generations.
 */
export function activityWriteScope(caller: AuthUser): string {
  return caller.role === 'ADMIN' ? WriteScope.activities : WriteScope.user(caller.id);
}

/** JSON with object keys sorted, so equal queries make equal keys. */
export function stableJson(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, inner]) => inner !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${stableJson(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
