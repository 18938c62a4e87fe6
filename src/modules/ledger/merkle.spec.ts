import fc from 'fast-check';
import {
  consistencyRequest,
  goAvailable,
  goBinary,
  goCheckAll,
  goCheckConsistency,
  goCheckInclusion,
  GoRequest,
  inclusionRequest,
  itWithGo,
} from '../../../test/helpers/independent-tlog';
import {
  CompactRange,
  consistencyProof,
  EMPTY_ROOT,
  HASH_SIZE,
  inclusionProof,
  inclusionRanges,
  consistencyRanges,
  leafHash,
  nodeHash,
  rangeHash,
  splitPoint,
  SubtreeSource,
  verifyConsistency,
  verifyInclusion,
} from './merkle';
import { STORED_EVERY, TreeReader } from './tree-reader';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { verifyMerkleInclusion } = require('@sigstore/verify/dist/tlog/merkle') as {
  verifyMerkleInclusion(
    entry: { canonicalizedBody: Buffer; inclusionProof: { logIndex: string; hashes: Buffer[] } },
    checkpoint: { logSize: bigint; logHash: Buffer },
  ): void;
};

const LARGEST = 65_537;
const SMALL = Array.from({ length: 70 }, (_, index) => index + 1);
const LARGE = [255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 65_535, 65_536, 65_537];

const text = (index: number) => Buffer.from(`{"id":${index},"kind":"activity"}`);

/**
 * levels[h]: the hashes of the complete subtrees of height h over all the leaves, end to end (one buffer a level
 * rather than 131,000 small ones, which the garbage collector would walk again and again).
 */
const levels: Buffer[] = [Buffer.concat(Array.from({ length: LARGEST }, (_, index) => leafHash(text(index))))];
while (levels[levels.length - 1].length > HASH_SIZE) {
  const below = levels[levels.length - 1];
  const count = Math.floor(below.length / HASH_SIZE / 2);
  const level = Buffer.alloc(count * HASH_SIZE);
  for (let i = 0; i < count; i++) {
    nodeHash(
      below.subarray(2 * i * HASH_SIZE, (2 * i + 1) * HASH_SIZE),
      below.subarray((2 * i + 1) * HASH_SIZE, (2 * i + 2) * HASH_SIZE),
    ).copy(level, i * HASH_SIZE);
  }
  levels.push(level);
}

/** The hash of the complete subtree of `height` at `index`. */
const node = (height: number, index: number) => levels[height].subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE);
const leaf = (index: number) => node(0, index);
const leafList = (start: number, end: number) => Array.from({ length: end - start }, (_, i) => leaf(start + i));

/** The tree of the first `size` leaves: a subtree past its end is a bug of the prover. */
function source(size: number): SubtreeSource {
  return (height, index) => {
    if ((index + 1) * 2 ** height > size) throw new Error(`subtree ${height}/${index} is not in a tree of ${size}`);
    return Promise.resolve(node(height, index));
  };
}

/** MTH of RFC 9162 2.1.1, straight from the definition. */
function mth(hashes: Buffer[]): Buffer {
  if (hashes.length === 0) return EMPTY_ROOT;
  if (hashes.length === 1) return hashes[0];
  const k = splitPoint(hashes.length);
  return nodeHash(mth(hashes.slice(0, k)), mth(hashes.slice(k)));
}

/** PATH(m, D[n]) of RFC 9162 2.1.3.1, straight from the definition. */
function naivePath(m: number, hashes: Buffer[]): Buffer[] {
  if (hashes.length === 1) return [];
  const k = splitPoint(hashes.length);
  return m < k
    ? [...naivePath(m, hashes.slice(0, k)), mth(hashes.slice(k))]
    : [...naivePath(m - k, hashes.slice(k)), mth(hashes.slice(0, k))];
}

/** SUBPROOF(m, D[n], b) of RFC 9162 2.1.4.1. */
function naiveSubproof(m: number, hashes: Buffer[], whole: boolean): Buffer[] {
  if (m === hashes.length) return whole ? [] : [mth(hashes)];
  const k = splitPoint(hashes.length);
  return m <= k
    ? [...naiveSubproof(m, hashes.slice(0, k), whole), mth(hashes.slice(k))]
    : [...naiveSubproof(m - k, hashes.slice(k), false), mth(hashes.slice(0, k))];
}

/** The root of the first `size` leaves from `levels`: its perfect subtrees, largest first, folded from the right. */
function root(size: number): Buffer {
  const subtrees: Buffer[] = [];
  let start = 0;
  for (let height = Math.floor(Math.log2(size)); height >= 0; height--) {
    if (start + 2 ** height <= size) {
      subtrees.push(node(height, start / 2 ** height));
      start += 2 ** height;
    }
  }
  return subtrees.reduceRight((right, left) => nodeHash(left, right));
}

function sigstoreInclusion(index: number, size: number, proof: Buffer[], rootHash: Buffer, leafAt = index): boolean {
  try {
    verifyMerkleInclusion(
      { canonicalizedBody: text(leafAt), inclusionProof: { logIndex: String(index), hashes: proof } },
      { logSize: BigInt(size), logHash: rootHash },
    );
    return true;
  } catch {
    return false;
  }
}

function sameProof(a: Buffer[], b: Buffer[]): boolean {
  return a.length === b.length && a.every((hash, i) => hash.equals(b[i]));
}

function flipBit(proof: Buffer[], at: number): Buffer[] {
  return proof.map((hash, i) => {
    if (i !== at) return hash;
    const flipped = Buffer.from(hash);
    flipped[(i * 7) % flipped.length] ^= 1 << (i % 8);
    return flipped;
  });
}

/** Proofs made once, checked by us, @sigstore/verify and Go. */
const proofs = new Map<string, Promise<Buffer[]>>();
function proveInclusion(m: number, n: number): Promise<Buffer[]> {
  const key = `inclusion ${m} ${n}`;
  if (!proofs.has(key)) proofs.set(key, inclusionProof(source(n), m, n));
  return proofs.get(key) as Promise<Buffer[]>;
}
function proveConsistency(m: number, n: number): Promise<Buffer[]> {
  const key = `consistency ${m} ${n}`;
  if (!proofs.has(key)) proofs.set(key, consistencyProof(source(n), m, n));
  return proofs.get(key) as Promise<Buffer[]>;
}

/** Indexes of a tree of n leaves to prove: all of a small tree, the edges and a few others of a large one. */
function sampleIndexes(n: number): number[] {
  if (n <= 70) return Array.from({ length: n }, (_, i) => i);
  const some = [0, 1, 2, n / 2, n - 3, n - 2, n - 1, 127, 128, 255, 256, 1000, 32_767, 32_768, 65_535, 65_536];
  return [...new Set(some.map(Math.floor).filter((i) => i >= 0 && i < n))];
}

/** Pairs (m, n) to prove consistency between: every pair of small sizes, sampled pairs around the large ones. */
function samplePairs(): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (const n of SMALL) for (let m = 1; m <= n; m++) pairs.push([m, n]);
  const froms = [1, 2, 3, 7, 8, 9, 63, 64, 65, 70, 128, 255, 256, 257, 511, 512, 513, 1024, 4095, 32_768, 65_535];
  for (const n of LARGE) for (const m of [...froms, n - 1, n]) if (m >= 1 && m <= n) pairs.push([m, n]);
  return pairs;
}

describe('the RFC 9162 Merkle tree', () => {
  it('CompactRange gives the root of the definition, and rangeHash agrees, for every size 0..70 and large ones', async () => {
    expect(CompactRange.empty().root()).toEqual(EMPTY_ROOT);
    const sizes = new Set([...SMALL, ...LARGE]);
    const range = CompactRange.empty();
    for (const hash of leafList(0, LARGEST)) {
      range.append(hash);
      if (!sizes.has(range.size)) continue;
      const n = range.size;
      // Past a thousand leaves the definition is slow; the pairwise levels are the definition for perfect subtrees.
      const expected = n <= 1025 ? mth(leafList(0, n)) : root(n);
      expect({ n, root: range.root().toString('hex') }).toEqual({ n, root: expected.toString('hex') });
      expect(await rangeHash(source(n), 0, n)).toEqual(expected);
      expect(root(n)).toEqual(expected);
    }
  });

  it('rangeHash of any range is the MTH of its leaves', async () => {
    const all = source(1025);
    for (let start = 0; start < 20; start++) {
      for (let end = start + 1; end <= 50; end++) {
        expect(await rangeHash(all, start, end)).toEqual(mth(leafList(start, end)));
      }
    }
    await expect(rangeHash(all, 5, 5)).rejects.toThrow();
  });

  it('onNode reports every complete subtree once, with its height, index and hash', () => {
    for (const n of [...SMALL, 513, 1025, LARGEST]) {
      const seen = new Map<string, Buffer>();
      const range = CompactRange.empty();
      for (const hash of leafList(0, n)) {
        range.append(hash, (height, index, hash) => {
          const key = `${height}/${index}`;
          if (seen.has(key)) throw new Error(`size ${n}: subtree ${key} reported twice`);
          seen.set(key, hash);
        });
      }
      let expected = 0;
      for (let height = 1; 2 ** height <= n; height++) {
        const count = Math.floor(n / 2 ** height);
        expected += count;
        for (let index = 0; index < count; index++) {
          if (!seen.get(`${height}/${index}`)?.equals(node(height, index))) {
            throw new Error(`size ${n}: subtree ${height}/${index} not reported or with the wrong hash`);
          }
        }
      }
      expect({ n, reported: seen.size }).toEqual({ n, reported: expected });
      // The frontier: one hash per set bit of n, largest subtree first.
      expect(range.size).toBe(n);
      expect(range.frontier.length).toBe(n.toString(2).replace(/0/g, '').length);
    }
  });

  it('a range resumed from its frontier (CompactRange.of) goes on to the same roots', () => {
    for (const [m, n] of [
      [1, 70],
      [7, 64],
      [64, 65],
      [255, 1025],
      [1000, 1025],
    ]) {
      const start = CompactRange.empty();
      for (const hash of leafList(0, m)) start.append(hash);
      const resumed = CompactRange.of(m, start.frontier);
      for (const hash of leafList(m, n)) resumed.append(hash);
      expect(resumed.root()).toEqual(root(n));
    }
    expect(() => CompactRange.of(7, [leaf(0), leaf(1)])).toThrow();
  });

  it('inclusion proofs are PATH of the RFC and verify; altered ones fail here and in @sigstore/verify', async () => {
    const problems: string[] = [];
    for (const n of [...SMALL, ...LARGE]) {
      for (const m of sampleIndexes(n)) {
        const proof = await proveInclusion(m, n);
        if (n <= 70 && !sameProof(proof, naivePath(m, leafList(0, n)))) problems.push(`${m} in ${n}: not PATH`);
        if (!verifyInclusion(leaf(m), m, n, proof, root(n))) problems.push(`${m} in ${n}: rejected`);
        if (!sigstoreInclusion(m, n, proof, root(n))) problems.push(`${m} in ${n}: rejected by sigstore`);
        for (const bad of badInclusions(m, n, proof)) {
          if (verifyInclusion(leaf(bad.leaf), bad.index, bad.size, bad.proof, bad.root)) {
            problems.push(`${m} in ${n}: ${bad.why} accepted`);
          }
          if (sigstoreInclusion(bad.index, bad.size, bad.proof, bad.root, bad.leaf)) {
            problems.push(`${m} in ${n}: ${bad.why} accepted by sigstore`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    await expect(inclusionProof(source(5), 5, 5)).rejects.toThrow();
    await expect(inclusionProof(source(5), -1, 5)).rejects.toThrow();
  });

  it('consistency proofs are PROOF of the RFC and verify; altered ones fail', async () => {
    const problems: string[] = [];
    for (const [m, n] of samplePairs()) {
      const proof = await proveConsistency(m, n);
      if (n <= 70 && !sameProof(proof, naiveSubproof(m, leafList(0, n), true))) {
        problems.push(`${m} to ${n}: not PROOF`);
      }
      if (!verifyConsistency(m, n, proof, root(m), root(n))) problems.push(`${m} to ${n}: rejected`);
      for (const bad of badConsistencies(m, n, proof)) {
        if (verifyConsistency(bad.from, bad.to, bad.proof, bad.fromRoot, bad.toRoot)) {
          problems.push(`${m} to ${n}: ${bad.why} accepted`);
        }
      }
    }
    expect(problems).toEqual([]);
    await expect(consistencyProof(source(5), 0, 5)).rejects.toThrow();
    await expect(consistencyProof(source(5), 6, 5)).rejects.toThrow();
  });

  it('the ranges a proof is made of give, hashed, exactly the proof', async () => {
    const problems: string[] = [];
    for (const [m, n] of samplePairs()) {
      if (m < n) {
        const inclusion = await proveInclusion(m, n);
        const fromRanges = await Promise.all(
          inclusionRanges(m, n).map(([start, end]) => rangeHash(source(n), start, end)),
        );
        if (!sameProof(fromRanges, inclusion)) problems.push(`inclusion of ${m} in ${n}`);
      }
      if (m >= 1) {
        const consistency = await proveConsistency(m, n);
        const fromRanges = await Promise.all(
          consistencyRanges(m, n).map(([start, end]) => rangeHash(source(n), start, end)),
        );
        if (!sameProof(fromRanges, consistency)) problems.push(`consistency from ${m} to ${n}`);
      }
    }
    expect(problems).toEqual([]);
    expect(() => inclusionRanges(5, 5)).toThrow();
    expect(() => consistencyRanges(0, 5)).toThrow();
  });

  it('a TreeReader that prefetched a proof’s ranges computes it without another read', async () => {
    const n = LARGEST;
    // What the ledger stores: every leaf hash, and the complete subtrees of every STORED_EVERY-th height.
    const store = (level: number, start: number, end: number) => {
      const found = new Map<number, Buffer>();
      for (let index = start; index < end && (index + 1) * 2 ** level <= n; index++)
        found.set(index, node(level, index));
      return found;
    };
    let reads = 0;
    const reader = new TreeReader(
      (level, start, end) => {
        reads += 1;
        return Promise.resolve(store(level, start, end));
      },
      (spans) => {
        const found = new Map<string, Buffer>();
        for (const span of spans) {
          expect(span.level % STORED_EVERY).toBe(0);
          expect(span.end - span.start).toBeLessThanOrEqual(2 ** (STORED_EVERY - 1));
          for (const [index, hash] of store(span.level, span.start, span.end))
            found.set(`${span.level}/${index}`, hash);
        }
        return Promise.resolve(found);
      },
    );
    const [m, from] = [12_345, 33_333];
    await reader.prefetch([...inclusionRanges(m, n), ...consistencyRanges(from, n)]);
    expect(sameProof(await inclusionProof(reader.subtree, m, n), await proveInclusion(m, n))).toBe(true);
    expect(sameProof(await consistencyProof(reader.subtree, from, n), await proveConsistency(from, n))).toBe(true);
    expect(reads).toBe(0);
  });

  it('random pairs up to 65537 leaves prove consistency (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: LARGEST }), fc.integer({ min: 0, max: LARGEST }), async (a, b) => {
        const [m, n] = [Math.min(a, Math.max(b, 1)), Math.max(a, b)];
        const proof = await consistencyProof(source(n), m, n);
        return (
          verifyConsistency(m, n, proof, root(m), root(n)) &&
          (m === n || !verifyConsistency(m, n, proof, root(m), root(n - 1)))
        );
      }),
      { numRuns: 20 },
    );
  });

  describe('checked by Go’s golang.org/x/mod/sumdb/tlog', () => {
    beforeAll(async () => {
      // Built outside the tests' time (the first build compiles the standard library it needs).
      if (goAvailable() || process.env.CI === 'true') await goBinary();
    }, 180_000);

    itWithGo('tlog.CheckRecord accepts every inclusion proof and rejects every altered one', async () => {
      const good: GoRequest[] = [];
      const bad: Array<{ why: string; request: GoRequest }> = [];
      for (const n of [...SMALL, ...LARGE]) {
        for (const m of sampleIndexes(n)) {
          const proof = await proveInclusion(m, n);
          good.push(inclusionRequest({ leafHash: leaf(m), index: m, treeSize: n, proof, rootHash: root(n) }));
          for (const wrong of badInclusions(m, n, proof)) {
            const request = inclusionRequest({
              leafHash: leaf(wrong.leaf),
              index: wrong.index,
              treeSize: wrong.size,
              proof: wrong.proof,
              rootHash: wrong.root,
            });
            bad.push({ why: `${m} in ${n}: ${wrong.why}`, request });
          }
        }
      }
      const answers = await goCheckAll([...good, ...bad.map(({ request }) => request)]);
      expect(answers.slice(0, good.length).filter((answer) => !answer.ok)).toEqual([]);
      const accepted = bad.filter((_, i) => answers[good.length + i].ok).map(({ why }) => why);
      expect(accepted).toEqual([]);
      expect(bad.length).toBeGreaterThan(1000);
    });

    itWithGo('tlog.CheckTree accepts every consistency proof and rejects every altered one', async () => {
      const good: GoRequest[] = [];
      const bad: Array<{ why: string; request: GoRequest }> = [];
      for (const [m, n] of samplePairs()) {
        const proof = await proveConsistency(m, n);
        good.push(consistencyRequest({ from: m, to: n, proof, fromRoot: root(m), toRoot: root(n) }));
        for (const wrong of badConsistencies(m, n, proof)) {
          bad.push({ why: `${m} to ${n}: ${wrong.why}`, request: consistencyRequest(wrong) });
        }
      }
      const answers = await goCheckAll([...good, ...bad.map(({ request }) => request)]);
      expect(answers.slice(0, good.length).filter((answer) => !answer.ok)).toEqual([]);
      const accepted = bad.filter((_, i) => answers[good.length + i].ok).map(({ why }) => why);
      expect(accepted).toEqual([]);
      expect(bad.length).toBeGreaterThan(1000);
    });

    itWithGo('the single-request helpers answer as the batch does', async () => {
      const proof = await inclusionProof(source(7), 3, 7);
      expect(await goCheckInclusion({ leafHash: leaf(3), index: 3, treeSize: 7, proof, rootHash: root(7) })).toEqual({
        ok: true,
      });
      const consistency = await consistencyProof(source(7), 3, 7);
      expect(
        await goCheckConsistency({ from: 3, to: 7, proof: consistency, fromRoot: root(3), toRoot: root(7) }),
      ).toEqual({ ok: true });
      const answer = await goCheckConsistency({
        from: 3,
        to: 7,
        proof: consistency,
        fromRoot: root(4),
        toRoot: root(7),
      });
      expect(answer.ok).toBe(false);
      expect(answer.error).toMatch(/invalid transparency proof/);
    });
  });
});

/** Which hashes of a proof to flip a bit in: each of a large tree's, one (a different one each time) of a small tree's. */
function flips(m: number, n: number, proof: Buffer[]): number[] {
  if (proof.length === 0) return [];
  return n > 70 ? proof.map((_, at) => at) : [(m * 7 + n) % proof.length];
}

interface BadInclusion {
  why: string;
  leaf: number;
  index: number;
  size: number;
  proof: Buffer[];
  root: Buffer;
}

/** Inclusion claims made from a good proof of leaf m in the tree of n, each of which must fail. */
function badInclusions(m: number, n: number, proof: Buffer[]): BadInclusion[] {
  const claim = { leaf: m, index: m, size: n, proof, root: root(n) };
  const bad: BadInclusion[] = [];
  for (const at of flips(m, n, proof))
    bad.push({ ...claim, why: `bit flipped in hash ${at}`, proof: flipBit(proof, at) });
  if (proof.length > 0) bad.push({ ...claim, why: 'one hash short', proof: proof.slice(0, -1) });
  bad.push({ ...claim, why: 'one hash too many', proof: [...proof, leaf(0)] });
  if (m + 1 < n) bad.push({ ...claim, why: 'the next index', index: m + 1 });
  if (m > 0) bad.push({ ...claim, why: 'the index before', index: m - 1 });
  if (m + 1 < n) bad.push({ ...claim, why: 'another leaf', leaf: m + 1 });
  if (n + 1 <= LARGEST) bad.push({ ...claim, why: 'the tree one larger', size: n + 1, root: root(n + 1) });
  if (m < n - 1) bad.push({ ...claim, why: 'the tree one smaller', size: n - 1, root: root(n - 1) });
  bad.push({ ...claim, why: 'the wrong root', root: leafHash('another tree') });
  return bad;
}

interface BadConsistency {
  why: string;
  from: number;
  to: number;
  proof: Buffer[];
  fromRoot: Buffer;
  toRoot: Buffer;
}

/** Consistency claims made from a good proof between m and n, each of which must fail. */
function badConsistencies(m: number, n: number, proof: Buffer[]): BadConsistency[] {
  const claim = { from: m, to: n, proof, fromRoot: root(m), toRoot: root(n) };
  const bad: BadConsistency[] = [];
  for (const at of flips(m, n, proof))
    bad.push({ ...claim, why: `bit flipped in hash ${at}`, proof: flipBit(proof, at) });
  if (proof.length > 0) bad.push({ ...claim, why: 'one hash short', proof: proof.slice(0, -1) });
  bad.push({ ...claim, why: 'one hash too many', proof: [...proof, leaf(0)] });
  if (m > 1) bad.push({ ...claim, why: 'from one smaller', from: m - 1, fromRoot: root(m - 1) });
  if (m < n) bad.push({ ...claim, why: 'from one larger', from: m + 1, fromRoot: root(m + 1) });
  if (n + 1 <= LARGEST) bad.push({ ...claim, why: 'to one larger', to: n + 1, toRoot: root(n + 1) });
  if (m < n) bad.push({ ...claim, why: 'to one smaller', to: n - 1, toRoot: root(n - 1) });
  if (m < n) bad.push({ ...claim, why: 'the old root swapped for the new', fromRoot: root(n) });
  bad.push({ ...claim, why: 'another new root', toRoot: leafHash('another tree') });
  return bad;
}
