import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The Merkle tree of RFC 9162 section 2.1 (as Certificate Transparency and the C2SP transparency logs use it):
 * leaves hashed with a 0x00 prefix, interior nodes with 0x01, the tree of n leaves split at the largest power of two
 * below n. Sizes and indexes are plain numbers (exact up to 2^53) and are never used with 32-bit bit operators.
 */

export const HASH_SIZE = 32;

const LEAF_PREFIX = Buffer.from([0]);
const NODE_PREFIX = Buffer.from([1]);

export function leafHash(leaf: string | Buffer): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(leaf).digest();
}

export function nodeHash(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** MTH({}): the hash of the empty string. */
export const EMPTY_ROOT = createHash('sha256').digest();

export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The largest power of two smaller than n (n > 1). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

/**
 * The hashes of the perfect subtrees that make up the first `size` leaves (largest first): everything needed to
 * append leaves and to compute the root, in at most log2(size) hashes. `onNode` hears of every complete subtree
 * made while appending, with its height and index (the leaves it covers are index * 2^height onwards).
 */
export class CompactRange {
  private constructor(
    private count: number,
    private readonly hashes: Buffer[],
  ) {}

  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  /** A range of `size` leaves from its hashes, largest subtree first (one per set bit of size). */
  static of(size: number, hashes: Buffer[]): CompactRange {
    const bits = size
      .toString(2)
      .split('')
      .filter((bit) => bit === '1').length;
    if (hashes.length !== bits) throw new Error(`a range of ${size} leaves has ${bits} hashes, not ${hashes.length}`);
    return new CompactRange(size, [...hashes]);
  }

  get size(): number {
    return this.count;
  }

  get frontier(): Buffer[] {
    return [...this.hashes];
  }

  append(hash: Buffer, onNode?: (height: number, index: number, hash: Buffer) => void): void {
    const position = this.count;
    let merged = hash;
    let height = 0;
    // Each trailing one of the old size is a subtree of that height that the new leaf completes a sibling of.
    let rest = position;
    while (rest % 2 === 1) {
      const left = this.hashes.pop() as Buffer;
      merged = nodeHash(left, merged);
      height++;
      rest = (rest - 1) / 2;
      onNode?.(height, Math.floor(position / 2 ** height), merged);
    }
    this.hashes.push(merged);
    this.count++;
  }

  root(): Buffer {
    if (this.hashes.length === 0) return EMPTY_ROOT;
    let root = this.hashes[this.hashes.length - 1];
    for (let index = this.hashes.length - 2; index >= 0; index--) root = nodeHash(this.hashes[index], root);
    return root;
  }
}

/** Where proofs read complete subtrees from: the hash of the subtree of `height` at `index`. */
export type SubtreeSource = (height: number, index: number) => Promise<Buffer>;

/** MTH(D[start:end]) from complete subtrees. */
export async function rangeHash(subtree: SubtreeSource, start: number, end: number): Promise<Buffer> {
  const size = end - start;
  if (size <= 0) throw new Error(`empty range ${start}..${end}`);
  if (isPowerOfTwo(size) && start % size === 0) return subtree(Math.round(Math.log2(size)), start / size);
  const k = splitPoint(size);
  return nodeHash(await rangeHash(subtree, start, start + k), await rangeHash(subtree, start + k, end));
}

/** PATH(m, D[0:n]) of RFC 9162 2.1.3.1: the inclusion proof of leaf m in the tree of n leaves, bottom up. */
export async function inclusionProof(subtree: SubtreeSource, m: number, n: number): Promise<Buffer[]> {
  if (!(m >= 0 && m < n)) throw new Error(`leaf ${m} is not in a tree of ${n}`);
  const path = async (index: number, start: number, end: number): Promise<Buffer[]> => {
    const size = end - start;
    if (size === 1) return [];
    const k = splitPoint(size);
    if (index < k) return [...(await path(index, start, start + k)), await rangeHash(subtree, start + k, end)];
    return [...(await path(index - k, start + k, end)), await rangeHash(subtree, start, start + k)];
  };
  return path(m, 0, n);
}

/** PROOF(m, D[0:n]) of RFC 9162 2.1.4.1: the consistency proof between the trees of m and n leaves. */
export async function consistencyProof(subtree: SubtreeSource, m: number, n: number): Promise<Buffer[]> {
  if (!(m >= 1 && m <= n)) throw new Error(`no consistency proof from ${m} to ${n}`);
  const sub = async (first: number, start: number, end: number, whole: boolean): Promise<Buffer[]> => {
    const size = end - start;
    if (first === size) return whole ? [] : [await rangeHash(subtree, start, end)];
    const k = splitPoint(size);
    if (first <= k) return [...(await sub(first, start, start + k, whole)), await rangeHash(subtree, start + k, end)];
    return [...(await sub(first - k, start + k, end, false)), await rangeHash(subtree, start, start + k)];
  };
  return sub(m, 0, n, true);
}

/** The complete subtrees, as [height, index], whose hashes make MTH(D[start:end]) as {@link rangeHash} reads them. */
export function rangeSubtrees(start: number, end: number, out: [number, number][] = []): [number, number][] {
  const size = end - start;
  if (size <= 0) throw new Error(`empty range ${start}..${end}`);
  if (isPowerOfTwo(size) && start % size === 0) {
    out.push([Math.round(Math.log2(size)), start / size]);
    return out;
  }
  const k = splitPoint(size);
  rangeSubtrees(start, start + k, out);
  return rangeSubtrees(start + k, end, out);
}

/** The leaf ranges whose hashes make the inclusion proof of leaf m in the tree of n leaves, bottom up. */
export function inclusionRanges(m: number, n: number): [number, number][] {
  if (!(m >= 0 && m < n)) throw new Error(`leaf ${m} is not in a tree of ${n}`);
  const ranges: [number, number][] = [];
  let [start, end, index] = [0, n, m];
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (index < k) {
      ranges.push([start + k, end]);
      end = start + k;
    } else {
      ranges.push([start, start + k]);
      start += k;
      index -= k;
    }
  }
  return ranges.reverse();
}

/** The leaf ranges whose hashes make the consistency proof between the trees of m and n leaves, bottom up. */
export function consistencyRanges(m: number, n: number): [number, number][] {
  if (!(m >= 1 && m <= n)) throw new Error(`no consistency proof from ${m} to ${n}`);
  const ranges: [number, number][] = [];
  let [first, start, end, whole] = [m, 0, n, true];
  for (;;) {
    const size = end - start;
    if (first === size) {
      if (!whole) ranges.push([start, end]);
      break;
    }
    const k = splitPoint(size);
    if (first <= k) {
      ranges.push([start + k, end]);
      end = start + k;
    } else {
      ranges.push([start, start + k]);
      first -= k;
      start += k;
      whole = false;
    }
  }
  return ranges.reverse();
}

/** RFC 9162 2.1.3.2: whether `proof` shows the leaf with hash `leaf` at `index` in the tree of `size` with `root`. */
export function verifyInclusion(leaf: Buffer, index: number, size: number, proof: Buffer[], root: Buffer): boolean {
  if (!(index >= 0 && index < size)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = fn / 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameHash(r, root);
}

/** RFC 9162 2.1.4.2: whether `proof` shows the tree of `first` leaves with `firstRoot` to be a prefix of the other. */
export function verifyConsistency(
  first: number,
  second: number,
  proof: Buffer[],
  firstRoot: Buffer,
  secondRoot: Buffer,
): boolean {
  if (!(first >= 1 && first <= second)) return false;
  if (first === second) return proof.length === 0 && sameHash(firstRoot, secondRoot);
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : proof;
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = fn / 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameHash(fr, firstRoot) && sameHash(sr, secondRoot);
}
