import { nodeHash, rangeSubtrees } from './merkle';

/** Stored hashes of one level (0: leaves; else a multiple of {@link STORED_EVERY}), `start` to `end` exclusive. */
export type StoredHashes = (level: number, start: number, end: number) => Promise<Map<number, Buffer>>;

/** Runs of stored hashes of several levels, read at once; the answer is keyed `level/index`. */
export type StoredSpans = (spans: StoredSpan[]) => Promise<Map<string, Buffer>>;

export interface StoredSpan {
  level: number;
  start: number;
  end: number;
}

/** Heights whose complete subtrees are stored (ledger_nodes), besides the leaves. */
export const STORED_EVERY = 4;
const TILE = 2 ** STORED_EVERY;

/**
 * The hash of any complete subtree, from what is stored: hashes of levels 0, 4, 8... (the levels between are
 * computed from at most 8 hashes of the stored level below). {@link prefetch} reads everything a proof needs in one
 * query, before the proof is computed from memory; anything not prefetched is read a tile of 16 at a time. One
 * reader serves one request.
 */
export class TreeReader {
  private readonly tiles = new Map<string, Promise<Map<number, Buffer>>>();
  private readonly prefetched = new Map<string, Buffer>();

  constructor(
    private readonly stored: StoredHashes,
    private readonly storedSpans?: StoredSpans,
  ) {}

  /** Reads, in one query, the stored hashes that the hashes of these leaf ranges are made of. */
  async prefetch(ranges: [number, number][]): Promise<void> {
    if (!this.storedSpans) return;
    const spans: StoredSpan[] = [];
    for (const [start, end] of ranges) {
      for (const [height, index] of rangeSubtrees(start, end)) {
        const level = height - (height % STORED_EVERY);
        const width = 2 ** (height - level);
        spans.push({ level, start: index * width, end: (index + 1) * width });
      }
    }
    for (const [key, hash] of await this.storedSpans(spans)) this.prefetched.set(key, hash);
  }

  readonly subtree = async (height: number, index: number): Promise<Buffer> => {
    const level = height - (height % STORED_EVERY);
    if (height === level) return this.storedHash(level, index);
    // A subtree between stored levels: combine its children (all within one tile of the level below).
    const [left, right] = await Promise.all([
      this.subtree(height - 1, 2 * index),
      this.subtree(height - 1, 2 * index + 1),
    ]);
    return nodeHash(left, right);
  };

  private async storedHash(level: number, index: number): Promise<Buffer> {
    const prefetched = this.prefetched.get(`${level}/${index}`);
    if (prefetched) return prefetched;
    const tile = Math.floor(index / TILE);
    const key = `${level}/${tile}`;
    let hashes = this.tiles.get(key);
    if (!hashes) {
      hashes = this.stored(level, tile * TILE, tile * TILE + TILE);
      this.tiles.set(key, hashes);
    }
    const hash = (await hashes).get(index);
    if (!hash) throw new Error(`the ledger has no stored hash at level ${level}, index ${index}`);
    return hash;
  }
}
