import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { AuthUser } from '../../common/auth/auth-user';
import { SerializedPage } from '../../common/http/api-result';
import { AppCache } from '../../cache/app-cache.service';
import { Settings } from '../../config/settings';
import { ConsistentReads, WriteScope } from '../../database/consistent-reads';
import { Transactions } from '../../database/transactions';
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

/** How often invalidations the cache could not take are offered to it again. */
const RETRY_INVALIDATIONS_MS = 500;

/**
 * Activity lists cached per caller and normalized query. Every write bumps a generation: the owner's, which the
 * owner's own lists are keyed on, and everyone's, which ADMIN lists are keyed on. An entry is served only while
 * its generation is current, so the first list read after a write is always a miss.
 *
 * A bump the cache could not take (Redis away) is remembered and offered again until it is taken: until then the
 * lists of that scope neither come from the cache nor go into it, since a Redis that returns with its data (a
 * frozen server, a network partition, a restart from a snapshot) still holds the generation from before the write.
 */
@Injectable()
export class ActivityListCache implements OnApplicationShutdown {
  /** Scopes whose last bump the cache did not take, with when it failed (on {@link sequence}). */
  private readonly unbumped = new Map<string, number>();
  private sequence = 0;
  private retrying?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;

  constructor(
    private readonly cache: AppCache,
    private readonly settings: Settings,
    private readonly reads: ConsistentReads,
    transactions: Transactions,
  ) {
    transactions.onCommit('activitiesChanged', (owners) => this.invalidate(owners));
  }

  onApplicationShutdown(): void {
    clearInterval(this.retryTimer);
  }

  /**
   * The cached list if current, and where a list read now from the database is to be stored: its key, and the
   * generation it belongs to (read before the database, so that a write in between makes that entry stale at once).
   * `fresh`: the client asked not to be answered from the cache, so the entry is not even fetched.
   */
  async lookup(caller: AuthUser, query: object, fresh: boolean): Promise<CacheSlot> {
    const key = this.entryKey(caller, query);
    const scope = this.scopeOf(caller);
    if (this.unbumped.size) await this.retryBumps();
    if (this.unbumped.has(scope)) return { key };
    const scopeKey = generationKey(scope);
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
   * After a commit that changed activities of `owners` (the `activitiesChanged` topic): their lists and every ADMIN
   * list are stale. The write's position is recorded for them first, so that the reads that fill the new
   * generations see it.
   */
  private async invalidate(owners: number[]): Promise<void> {
    await this.reads.record([...owners.map((owner) => WriteScope.user(owner)), WriteScope.activities]);
    await Promise.all([...owners.map((owner) => this.bump(String(owner))), this.bump(EVERYONE)]);
  }

  private async bump(scope: string): Promise<void> {
    const started = (this.sequence += 1);
    if (await this.cache.set(generationKey(scope), randomUUID(), GENERATION_TTL_MS)) {
      // Covers the failed bumps from before this one started, not one that failed while it was under way.
      if ((this.unbumped.get(scope) ?? Infinity) < started) this.unbumped.delete(scope);
      return;
    }
    this.unbumped.set(scope, (this.sequence += 1));
    this.retryTimer ??= setInterval(() => void this.retryBumps(), RETRY_INVALIDATIONS_MS).unref();
  }

  /** Offers the cache the bumps it could not take, once at a time; stops retrying when none is left. */
  private retryBumps(): Promise<void> {
    if (!this.cache.available) return Promise.resolve();
    this.retrying ??= Promise.all([...this.unbumped.keys()].map((scope) => this.bump(scope))).then(() => {
      this.retrying = undefined;
      if (this.unbumped.size === 0) {
        clearInterval(this.retryTimer);
        this.retryTimer = undefined;
      }
    });
    return this.retrying;
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
