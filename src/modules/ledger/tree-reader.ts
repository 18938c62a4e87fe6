import { nodeHash } from './merkle';

/** Stored hashes of one level (0: leaves; else a multiple of {@link STORED_EVERY}), `start` to `end` exclusive. */
export type StoredHashes = (level: number, start: number, end: number) => Promise<Map<number, Buffer>>;

/** Heights whose complete subtrees are stored (ledger_nodes), besides the leaves. */
export const STORED_EVERY = 8;
const TILE = 2 ** STORED_EVERY;

/**
 * The hash of any complete subtree, from what is stored: hashes of levels 0, 8, 16... read a tile of 256 at a
 * time (one query each), the levels between computed. Any proof touches at most two tiles per stored level, so
 * a few reads whatever the size of the tree. One reader serves one request (it keeps the tiles it read).
 */
export class TreeReader {
  private readonly tiles = new Map<string, Promise<Map<number, Buffer>>>();

  constructor(private readonly stored: StoredHashes) {}

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
