import { createHash, generateKeyPairSync, KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { goAvailable, goBinary, goCheckAll, goOpenNote, itWithGo } from '../../../test/helpers/independent-tlog';
import {
  checkpointText,
  noteKeyId,
  openNote,
  parseCheckpointText,
  parseVerifierKey,
  rawPublicKey,
  signNote,
  verifierKey,
} from './signed-note';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { verifyCheckpoint } = require('@sigstore/verify/dist/tlog/checkpoint') as {
  verifyCheckpoint(
    entry: { inclusionProof: { checkpoint: { envelope: string } } },
    tlogs: Array<{ logID: Buffer; baseURL: string; publicKey: KeyObject }>,
  ): { origin: string; logSize: bigint; logHash: Buffer };
};

const NAME = 'logbook/3f2a9c01d4e5b6a7';

interface Key {
  name: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  raw: Buffer;
  vkey: string;
}

function freshKey(name = NAME): Key {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = rawPublicKey(publicKey);
  return { name, privateKey, publicKey, raw, vkey: verifierKey(name, raw) };
}

/** A key whose verifier key's base64 does (or does not) hold a '+', which is also the key's field separator. */
function keyWithPlus(wanted: boolean): Key {
  for (;;) {
    const key = freshKey();
    if (key.vkey.split('+').length > 3 === wanted) return key;
  }
}

/** A well-formed key id that is not `id`: its last hex digit changed. */
function otherKeyId(id: string): string {
  return `${id.slice(0, -1)}${(parseInt(id.slice(-1), 16) ^ 1).toString(16)}`;
}

function sign(key: Key, text: string, name = key.name): string {
  return signNote(text, name, key.privateKey, key.raw);
}

const body = { origin: NAME, treeSize: 1042, rootHash: createHash('sha256').update('a root').digest() };
const text = checkpointText(body);

/** @sigstore/verify's checkpoint check, trusting `key` as the log of that name. */
function sigstoreOpens(note: string, key: Key): boolean {
  try {
    const checkpoint = verifyCheckpoint({ inclusionProof: { checkpoint: { envelope: note } } }, [
      { logID: noteKeyId(key.name, key.raw), baseURL: key.name, publicKey: key.publicKey },
    ]);
    return checkpoint.origin === body.origin && checkpoint.logSize === BigInt(body.treeSize);
  } catch {
    return false;
  }
}

/** Notes that must not open with `key`'s verifier, each with why. */
function badNotes(key: Key): Array<[string, string]> {
  const good = sign(key, text);
  const [, signature] = /\u2014 \S+ (\S+)\n$/.exec(good) as RegExpExecArray;
  const bytes = Buffer.from(signature, 'base64');
  const wrongId = Buffer.from(bytes);
  wrongId[0] ^= 0x80;
  const flipped = Buffer.from(bytes);
  flipped[40] ^= 0x01;
  return [
    ['tampered text', good.replace('\n1042\n', '\n1043\n')],
    ['another key with the same name', sign(freshKey(), text)],
    ['a wrong key id', good.replace(signature, wrongId.toString('base64'))],
    ['a flipped bit in the signature', good.replace(signature, flipped.toString('base64'))],
    ['another name, same key', sign(key, text, 'elsewhere/log')],
    ['no signature', text],
    ['no blank line before the signature', good.replace('\n\n', '\n')],
    ['no final newline', good.slice(0, -1)],
  ];
}

describe('C2SP signed notes', () => {
  it('the key id and verifier key are those of C2SP signed-note', () => {
    const key = freshKey();
    const id = createHash('sha256')
      .update(Buffer.concat([Buffer.from(`${NAME}\n`), Buffer.from([0x01]), key.raw]))
      .digest()
      .subarray(0, 4);
    expect(noteKeyId(NAME, key.raw)).toEqual(id);
    expect(key.vkey).toBe(
      `${NAME}+${id.toString('hex')}+${Buffer.concat([Buffer.from([1]), key.raw]).toString('base64')}`,
    );
    const verifier = parseVerifierKey(key.vkey);
    expect(verifier).toMatchObject({ name: NAME, keyId: id });
    expect(rawPublicKey(verifier.publicKey)).toEqual(key.raw);
  });

  it('parses a verifier key whose base64 holds a "+" (the separator of its fields)', () => {
    const key = keyWithPlus(true);
    expect(parseVerifierKey(key.vkey).keyId).toEqual(noteKeyId(NAME, key.raw));
    expect(openNote(sign(key, text), parseVerifierKey(key.vkey))).toBe(text);
  });

  it('refuses verifier keys that are not one', () => {
    const key = keyWithPlus(false);
    const [name, id, data] = key.vkey.split('+');
    const otherId = otherKeyId(id);
    const wrongAlgorithm = Buffer.from(data, 'base64');
    wrongAlgorithm[0] = 2;
    for (const bad of [
      `${name}+${id}`,
      `${name}+${otherId}+${data}`,
      `other+${id}+${data}`,
      `${name}+${id}+${wrongAlgorithm.toString('base64')}`,
      `${name}+${id}+${Buffer.from(data, 'base64').subarray(0, 32).toString('base64')}`,
    ]) {
      expect(() => parseVerifierKey(bad)).toThrow();
    }
  });

  it('a signed checkpoint opens with its verifier key, in @sigstore/verify too, and reads back', () => {
    const key = freshKey();
    const note = sign(key, text);
    expect(note).toBe(`${text}\n\u2014 ${NAME} ${note.split(' ').pop()}`);
    const opened = openNote(note, parseVerifierKey(key.vkey));
    expect(opened).toBe(text);
    expect(parseCheckpointText(opened as string)).toEqual(body);
    expect(sigstoreOpens(note, key)).toBe(true);
  });

  it('a note also signed by other keys opens when one signature is the verifier’s', () => {
    const key = freshKey();
    const other = freshKey('witness/one');
    const mine = sign(key, text);
    const theirs = sign(other, text);
    const both = `${text}\n${theirs.slice(text.length + 1)}${mine.slice(text.length + 1)}`;
    expect(openNote(both, parseVerifierKey(key.vkey))).toBe(text);
    expect(openNote(both, parseVerifierKey(other.vkey))).toBe(text);
    expect(sigstoreOpens(both, key)).toBe(true);
  });

  it('refuses tampered text, another key, a wrong key id, another name, broken notes (and so does @sigstore/verify)', () => {
    const key = freshKey();
    const verifier = parseVerifierKey(key.vkey);
    for (const [why, note] of badNotes(key)) {
      expect({ why, opened: openNote(note, verifier) }).toEqual({ why, opened: undefined });
      expect({ why, sigstore: sigstoreOpens(note, key) }).toEqual({ why, sigstore: false });
    }
  });

  it('reads checkpoint text strictly', () => {
    const root = body.rootHash.toString('base64');
    expect(parseCheckpointText(`${NAME}\n7\n${root}\nextension line\n`)).toEqual({ ...body, treeSize: 7 });
    for (const bad of [
      `${NAME}\n7\n${root}`,
      `${NAME}\n07\n${root}\n`,
      `${NAME}\n-7\n${root}\n`,
      `${NAME}\n7.0\n${root}\n`,
      `${NAME}\n9007199254740993\n${root}\n`,
      `\n7\n${root}\n`,
      `${NAME}\n7\n${root.slice(0, -1)}\n`,
      `${NAME}\n7\n${root.replace('=', '')}\n`,
      `${NAME}\n7\n${Buffer.alloc(31).toString('base64')}\n`,
      `${NAME}\n7\n`,
    ]) {
      expect({ bad, parsed: parseCheckpointText(bad) }).toEqual({ bad, parsed: undefined });
    }
  });

  it('any checkpoint signs, opens and reads back (fast-check)', () => {
    const key = freshKey();
    const verifier = parseVerifierKey(key.vkey);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (treeSize, root) => {
          const checkpoint = { origin: NAME, treeSize, rootHash: Buffer.from(root) };
          const opened = openNote(sign(key, checkpointText(checkpoint)), verifier);
          return opened !== undefined && parseCheckpointText(opened)?.treeSize === treeSize;
        },
      ),
      { numRuns: 200 },
    );
  });

  describe('checked by Go’s golang.org/x/mod/sumdb/note', () => {
    beforeAll(async () => {
      if (goAvailable() || process.env.CI === 'true') await goBinary();
    }, 180_000);

    itWithGo('note.Open accepts the verifier key and the note, and gives back the same text', async () => {
      for (const key of [keyWithPlus(false), keyWithPlus(true)]) {
        expect(await goOpenNote(key.vkey, sign(key, text))).toEqual({ ok: true, text });
      }
    });

    itWithGo('note.Open refuses what openNote refuses', async () => {
      const key = freshKey();
      const bad = badNotes(key);
      const answers = await goCheckAll(bad.map(([, note]) => ({ op: 'note', verifierKey: key.vkey, note })));
      expect(bad.map(([why], i) => ({ why, ok: answers[i].ok }))).toEqual(bad.map(([why]) => ({ why, ok: false })));
    });

    itWithGo('note.NewVerifier refuses a verifier key whose id does not match', async () => {
      const key = keyWithPlus(false);
      const [name, id, data] = key.vkey.split('+');
      const wrong = `${name}+${otherKeyId(id)}+${data}`;
      expect(await goOpenNote(wrong, sign(key, text))).toEqual({ ok: false, error: 'invalid verifier hash' });
    });
  });
});
