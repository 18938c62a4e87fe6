import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { EMPTY_ROOT, sameHash, verifyConsistency } from '../modules/ledger/merkle';
import {
  CheckpointBody,
  openNote,
  parseCheckpointText,
  parseVerifierKey,
  Verifier,
} from '../modules/ledger/signed-note';

/**
 * `npm run cli -- ledger-monitor`: what an auditor runs, anywhere, knowing nothing but a Logbook's URL and its
 * verifier key. It trusts the first checkpoint it sees and from then on accepts a checkpoint only when a consistency
 * proof shows the log grew from the one it kept: no database, no token.
 */

export const LEDGER_MONITOR_USAGE = 'usage: npm run cli -- ledger-monitor --url URL --verifier-key VKEY --state FILE';

const API_PREFIX = '/api/v1';
const REQUEST_TIMEOUT_MS = 30_000;

/** What the monitor keeps between runs: the last checkpoint it trusted, and for which key. */
interface MonitorState {
  verifierKey: string;
  note: string;
  checkedAt: string;
}

/** A reason to stop with exit code 1 (and leave the state file as it was). */
class Failure extends Error {}

export async function runLedgerMonitor(args: string[], out: (line: string) => void): Promise<number> {
  let options: { url: string; verifierKey: string; state: string; verifier: Verifier };
  try {
    options = parseOptions(args);
  } catch (error) {
    out(`${(error as Error).message}\n${LEDGER_MONITOR_USAGE}`);
    return 2;
  }
  try {
    await monitor(options, out);
    return 0;
  } catch (error) {
    if (!(error instanceof Failure)) throw error;
    out(`FAIL: ${error.message}`);
    return 1;
  }
}

function parseOptions(args: string[]) {
  const { values } = parseArgs({
    args,
    options: { url: { type: 'string' }, 'verifier-key': { type: 'string' }, state: { type: 'string' } },
  });
  const { url, 'verifier-key': verifierKey, state } = values;
  if (!url || !verifierKey || !state) throw new Error('--url, --verifier-key and --state are all needed');
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new Error(`--url: not an http(s) URL`);
  let verifier: Verifier;
  try {
    verifier = parseVerifierKey(verifierKey);
  } catch (error) {
    throw new Error(`--verifier-key: ${(error as Error).message}`);
  }
  return { url: url.replace(/\/+$/, ''), verifierKey: verifierKey.trim(), state, verifier };
}

async function monitor(
  options: { url: string; verifierKey: string; state: string; verifier: Verifier },
  out: (line: string) => void,
): Promise<void> {
  const { url, verifierKey, state, verifier } = options;
  const kept = existsSync(state) ? await readState(state, verifierKey, verifier) : undefined;

  const checkpoint = await getData(`${url}${API_PREFIX}/ledger/checkpoint`);
  const note = typeof checkpoint.note === 'string' ? checkpoint.note : undefined;
  if (note === undefined) throw new Failure('the checkpoint answered has no note');
  const latest = openCheckpoint(note, verifier, 'the checkpoint served');
  if (
    checkpoint.origin !== latest.origin ||
    checkpoint.treeSize !== latest.treeSize ||
    checkpoint.rootHash !== latest.rootHash.toString('base64')
  ) {
    throw new Failure('the checkpoint’s origin, treeSize or rootHash differ from its signed note');
  }
  out(`checkpoint of ${latest.origin}: size ${latest.treeSize}, root ${latest.rootHash.toString('base64')}`);
  out(`  signature verified with key ${verifier.keyId.toString('hex')}`);

  if (!kept) {
    out(`  no checkpoint kept at ${state} yet: this one is trusted from now on`);
  } else if (latest.treeSize < kept.treeSize) {
    throw new Failure(
      `the log shrank: size ${latest.treeSize} now, after the checkpoint of size ${kept.treeSize} kept at ${state}`,
    );
  } else if (latest.treeSize === kept.treeSize) {
    if (!sameHash(latest.rootHash, kept.rootHash)) {
      throw new Failure(
        `the history was rewritten: two signed roots for size ${latest.treeSize} ` +
          `(${kept.rootHash.toString('base64')} kept at ${state}, ${latest.rootHash.toString('base64')} now)`,
      );
    }
    out(`  the same as the checkpoint of size ${kept.treeSize} kept at ${state} (the log did not grow)`);
  } else if (kept.treeSize === 0) {
    out(`  consistent with the checkpoint of size 0 kept at ${state} (the empty tree is a prefix of any)`);
  } else {
    const proof = await consistency(url, kept.treeSize, latest.treeSize);
    if (!verifyConsistency(kept.treeSize, latest.treeSize, proof, kept.rootHash, latest.rootHash)) {
      throw new Failure(
        `the history was rewritten: the tree of size ${latest.treeSize} does not extend the checkpoint of size ` +
          `${kept.treeSize} kept at ${state} (its consistency proof fails)`,
      );
    }
    out(
      `  consistent with the checkpoint of size ${kept.treeSize} kept at ${state} ` +
        `(root ${kept.rootHash.toString('base64')}; consistency proof of ${proof.length} hashes verified)`,
    );
  }

  await writeState(state, { verifierKey, note, checkedAt: new Date().toISOString() });
  out(`OK: checkpoint of size ${latest.treeSize} kept at ${state}`);
}

function openCheckpoint(note: string, verifier: Verifier, what: string): CheckpointBody {
  const text = openNote(note, verifier);
  if (text === undefined) throw new Failure(`${what} is not signed by the verifier key’s ${verifier.name}`);
  const body = parseCheckpointText(text);
  if (!body) throw new Failure(`${what} is signed but is not a checkpoint`);
  if (body.origin !== verifier.name) {
    throw new Failure(`${what} is of the log ${body.origin}, not of ${verifier.name}`);
  }
  if (body.treeSize === 0 && !sameHash(body.rootHash, EMPTY_ROOT)) {
    throw new Failure(`${what} gives the empty tree a root that is not the empty tree’s`);
  }
  return body;
}

async function readState(file: string, verifierKey: string, verifier: Verifier): Promise<CheckpointBody> {
  let state: Partial<MonitorState>;
  try {
    state = JSON.parse(await readFile(file, 'utf8')) as Partial<MonitorState>;
  } catch (error) {
    throw new Failure(`cannot read the state kept at ${file}: ${(error as Error).message}`);
  }
  if (state.verifierKey !== verifierKey) {
    throw new Failure(`the state kept at ${file} is of another verifier key (${String(state.verifierKey)})`);
  }
  if (typeof state.note !== 'string') throw new Failure(`the state kept at ${file} holds no note`);
  return openCheckpoint(state.note, verifier, `the checkpoint kept at ${file}`);
}

async function writeState(file: string, state: MonitorState): Promise<void> {
  const partial = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(partial, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
    await rename(partial, file);
  } catch (error) {
    await rm(partial, { force: true });
    throw new Failure(`cannot write the state to ${file}: ${(error as Error).message}`);
  }
}

async function consistency(url: string, from: number, to: number): Promise<Buffer[]> {
  const data = await getData(`${url}${API_PREFIX}/ledger/consistency?from=${from}&to=${to}`);
  if (data.from !== from || data.to !== to || !Array.isArray(data.proof)) {
    throw new Failure(`the consistency proof answered is not the one from ${from} to ${to} asked for`);
  }
  return data.proof.map((hash) => {
    const bytes = typeof hash === 'string' ? Buffer.from(hash, 'base64') : Buffer.alloc(0);
    if (bytes.length !== 32) throw new Failure('the consistency proof holds something that is not a hash');
    return bytes;
  });
}

/** GET `url`, and the `data` of its envelope. */
async function getData(url: string): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Failure(`GET ${url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
  }
  const body = (await response.json().catch(() => undefined)) as
    { data?: unknown; error?: { message?: string } } | undefined;
  if (!response.ok) {
    throw new Failure(`GET ${url}: ${response.status}${body?.error?.message ? ` ${body.error.message}` : ''}`);
  }
  if (typeof body?.data !== 'object' || body.data === null) throw new Failure(`GET ${url}: not a Logbook answer`);
  return body.data as Record<string, unknown>;
}
