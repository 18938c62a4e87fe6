import { createHash, createPublicKey, KeyObject, sign, verify } from 'node:crypto';

/**
 * C2SP `signed-note` with Ed25519 keys, and the `tlog-checkpoint` text it signs. Shared by the service (which signs)
 * and the monitor (which only verifies, knowing nothing but the verifier key).
 */

const ED25519_ALGORITHM = 0x01;
const SIGNATURE_PREFIX = '\u2014 ';
/** The DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 key bytes follow it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The first 4 bytes of SHA-256(name || "\n" || 0x01 || public key). */
export function noteKeyId(name: string, publicKey: Buffer): Buffer {
  return createHash('sha256')
    .update(`${name}\n`)
    .update(Buffer.from([ED25519_ALGORITHM]))
    .update(publicKey)
    .digest()
    .subarray(0, 4);
}

/** `<name>+<hex key id>+<base64(0x01 || public key)>`. */
export function verifierKey(name: string, publicKey: Buffer): string {
  const keyData = Buffer.concat([Buffer.from([ED25519_ALGORITHM]), publicKey]).toString('base64');
  return `${name}+${noteKeyId(name, publicKey).toString('hex')}+${keyData}`;
}

export function rawPublicKey(key: KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32);
}

export function publicKeyFromRaw(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export interface Verifier {
  name: string;
  keyId: Buffer;
  publicKey: KeyObject;
}

/** Parses a verifier key; throws saying what is wrong. */
export function parseVerifierKey(text: string): Verifier {
  // The name holds no "+", the key id is hex; the base64 key after them may hold "+" of its own.
  const trimmed = text.trim();
  const first = trimmed.indexOf('+');
  const second = first < 0 ? -1 : trimmed.indexOf('+', first + 1);
  if (first <= 0 || second < 0) throw new Error('a verifier key is <name>+<key id>+<key>');
  const [name, hexId, keyData] = [trimmed.slice(0, first), trimmed.slice(first + 1, second), trimmed.slice(second + 1)];
  const data = Buffer.from(keyData, 'base64');
  if (!/^[0-9a-f]{8}$/.test(hexId)) throw new Error('the key id of a verifier key is 8 hex digits');
  if (data.length !== 33 || data[0] !== ED25519_ALGORITHM) throw new Error('the verifier key is not an Ed25519 key');
  const raw = data.subarray(1);
  if (!noteKeyId(name, raw).equals(Buffer.from(hexId, 'hex'))) {
    throw new Error('the key id of the verifier key does not match its name and key');
  }
  return { name, keyId: Buffer.from(hexId, 'hex'), publicKey: publicKeyFromRaw(raw) };
}

/** Signs `text` (which ends with a newline) as a note with one signature line. */
export function signNote(text: string, name: string, privateKey: KeyObject, publicKey: Buffer): string {
  const signature = sign(null, Buffer.from(text, 'utf8'), privateKey);
  const line = Buffer.concat([noteKeyId(name, publicKey), signature]).toString('base64');
  return `${text}\n${SIGNATURE_PREFIX}${name} ${line}\n`;
}

/** The note's text when one of its signatures is the verifier's and holds; undefined otherwise. */
export function openNote(note: string, verifier: Verifier): string | undefined {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) return undefined;
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  for (const line of lines) {
    if (!line.startsWith(SIGNATURE_PREFIX)) return undefined;
    const [name, encoded, extra] = line.slice(SIGNATURE_PREFIX.length).split(' ');
    if (extra !== undefined || name !== verifier.name || !encoded) continue;
    const bytes = Buffer.from(encoded, 'base64');
    if (bytes.length !== 68 || !bytes.subarray(0, 4).equals(verifier.keyId)) continue;
    if (verify(null, Buffer.from(text, 'utf8'), verifier.publicKey, bytes.subarray(4))) return text;
  }
  return undefined;
}

export interface CheckpointBody {
  origin: string;
  treeSize: number;
  rootHash: Buffer;
}

export function checkpointText(body: CheckpointBody): string {
  return `${body.origin}\n${body.treeSize}\n${body.rootHash.toString('base64')}\n`;
}

/** The origin, size and root of a checkpoint's text; undefined when it is not one. */
export function parseCheckpointText(text: string): CheckpointBody | undefined {
  const lines = text.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '') return undefined;
  const [origin, size, root] = lines;
  if (!origin || !/^(0|[1-9]\d*)$/.test(size) || !Number.isSafeInteger(Number(size))) return undefined;
  const rootHash = Buffer.from(root, 'base64');
  if (rootHash.length !== 32 || rootHash.toString('base64') !== root) return undefined;
  return { origin, treeSize: Number(size), rootHash };
}
