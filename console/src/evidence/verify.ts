/**
 * Checks, in the browser and with its own Web Crypto (SHA-256, Ed25519), that a record is in the ledger: its leaf
 * says what the record says, the inclusion proof leads from the leaf to the checkpoint's root (RFC 9162 2.1.3.2),
 * and the checkpoint's signed note is signed by the ledger's key (C2SP signed-note, tlog-checkpoint).
 */

export interface Checkpoint {
  origin: string;
  treeSize: number;
  rootHash: string;
  createdAt: string;
  note: string;
}

export interface InclusionProof {
  leafIndex: number;
  treeSize: number;
  leaf: string;
  leafHash: string;
  proof: string[];
  checkpoint: Checkpoint;
}

export interface LedgerKey {
  origin: string;
  keyId: string;
  publicKey: string;
}

/** One check and whether it held. */
export interface Check {
  name: 'leaf' | 'record' | 'proof' | 'note' | 'signature';
  ok: boolean;
}

const encoder = new TextEncoder();

export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

async function sha256(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((byte, i) => byte === b[i]);

/** RFC 9162 2.1.1: a leaf's hash is SHA-256(0x00 || leaf). */
export function leafHash(leaf: string): Promise<Uint8Array> {
  return sha256(concat(new Uint8Array([0]), encoder.encode(leaf)));
}

const nodeHash = (left: Uint8Array, right: Uint8Array) => sha256(concat(new Uint8Array([1]), left, right));

/** RFC 9162 2.1.3.2: the root that `proof` leads to from the leaf at `index` of a tree of `size`, or null. */
export async function rootFromInclusionProof(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: Uint8Array[],
): Promise<Uint8Array | null> {
  if (index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let hash = leaf;
  for (const sibling of proof) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      hash = await nodeHash(sibling, hash);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      hash = await nodeHash(hash, sibling);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? hash : null;
}

/**
 * A signed note's signature by `key` (C2SP signed-note): the text up to the blank line is what was signed; a line
 * `— <origin> <base64(key id || signature)>` carries it, the key id being the first 4 bytes of
 * SHA-256(origin || "\n" || 0x01 || public key).
 */
export async function noteSignedBy(note: string, key: LedgerKey): Promise<boolean> {
  const split = note.indexOf('\n\n');
  if (split < 0) return false;
  const body = note.slice(0, split + 1);
  const publicKey = fromBase64(key.publicKey);
  const keyId = (await sha256(concat(encoder.encode(`${key.origin}\n`), new Uint8Array([1]), publicKey))).slice(0, 4);
  const verifier = await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
  for (const line of note.slice(split + 2).split('\n')) {
    const match = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!match || match[1] !== key.origin) continue;
    const signed = fromBase64(match[2]);
    if (signed.length !== 68 || !equal(signed.slice(0, 4), keyId)) continue;
    const ok = await crypto.subtle.verify({ name: 'Ed25519' }, verifier, signed.slice(4), encoder.encode(body));
    if (ok) return true;
  }
  return false;
}

/** JSON with its object keys sorted, to compare values whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([name, item]) => `${JSON.stringify(name)}:${canonical(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Whether the leaf says what the record, as the API answers it now, says. An activity's leaf is the activity as
 * created: its status and `updatedAt` (and a later `deletedAt`) may differ; every other field must be the same.
 */
export function leafMatches(leaf: string, kind: 'activity' | 'audit', record: Record<string, unknown>): boolean {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(leaf) as Record<string, unknown>;
  } catch {
    return false;
  }
  if (parsed.kind !== kind) return false;
  const mayDiffer = kind === 'activity' ? new Set(['kind', 'status', 'updatedAt', 'deletedAt']) : new Set(['kind']);
  const names = new Set([...Object.keys(parsed), ...Object.keys(record)]);
  for (const name of names) {
    if (mayDiffer.has(name)) continue;
    if (canonical(parsed[name]) !== canonical(record[name])) return false;
  }
  return true;
}

/** Every check of a record's inclusion; the record is `Verified` only when all of them hold. */
export async function verifyInclusion(
  kind: 'activity' | 'audit',
  record: Record<string, unknown>,
  proof: InclusionProof,
  key: LedgerKey,
): Promise<Check[]> {
  const hash = await leafHash(proof.leaf);
  const root = await rootFromInclusionProof(proof.leafIndex, proof.treeSize, hash, proof.proof.map(fromBase64));
  const checkpoint = proof.checkpoint;
  const noteBody = `${checkpoint.origin}\n${checkpoint.treeSize}\n${checkpoint.rootHash}\n\n`;
  return [
    { name: 'leaf', ok: equal(hash, fromBase64(proof.leafHash)) },
    { name: 'record', ok: leafMatches(proof.leaf, kind, record) },
    {
      name: 'proof',
      ok: root !== null && proof.treeSize === checkpoint.treeSize && equal(root, fromBase64(checkpoint.rootHash)),
    },
    { name: 'note', ok: checkpoint.origin === key.origin && checkpoint.note.startsWith(noteBody) },
    { name: 'signature', ok: await noteSignedBy(checkpoint.note, key) },
  ];
}
