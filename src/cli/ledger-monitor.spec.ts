import { generateKeyPairSync, KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactRange, consistencyProof, leafHash, rangeHash, SubtreeSource } from '../modules/ledger/merkle';
import { checkpointText, rawPublicKey, signNote, verifierKey } from '../modules/ledger/signed-note';
import { runLedgerMonitor } from './ledger-monitor';

const ORIGIN = 'logbook/5e1f00d2c3b4a596';

interface Key {
  privateKey: KeyObject;
  raw: Buffer;
  vkey: string;
}

function freshKey(): Key {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = rawPublicKey(publicKey);
  return { privateKey, raw, vkey: verifierKey(ORIGIN, raw) };
}

/** A Logbook as the monitor sees it: the two public ledger routes, over a tree it holds in memory. */
class FakeLogbook {
  leaves: Buffer[] = [];
  key = freshKey();
  /** What the checkpoint route answers instead, when set. */
  answer?: (checkpoint: Record<string, unknown>) => { status: number; body: unknown };
  private server?: Server;
  url = '';

  grow(count: number): void {
    const start = this.leaves.length;
    for (let i = start; i < start + count; i++) this.leaves.push(leafHash(`{"id":${i},"kind":"audit"}`));
  }

  private subtree: SubtreeSource = (height, index) => {
    const start = index * 2 ** height;
    const hashes = this.leaves.slice(start, start + 2 ** height);
    const range = CompactRange.empty();
    for (const hash of hashes) range.append(hash);
    return Promise.resolve(range.root());
  };

  async checkpoint(): Promise<Record<string, unknown>> {
    const treeSize = this.leaves.length;
    const rootHash = treeSize ? await rangeHash(this.subtree, 0, treeSize) : CompactRange.empty().root();
    const note = signNote(
      checkpointText({ origin: ORIGIN, treeSize, rootHash }),
      ORIGIN,
      this.key.privateKey,
      this.key.raw,
    );
    return {
      origin: ORIGIN,
      treeSize,
      rootHash: rootHash.toString('base64'),
      createdAt: new Date().toISOString(),
      note,
    };
  }

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      void this.handle(new URL(request.url ?? '/', 'http://fake')).then(({ status, body }) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((listening) => this.server?.listen(0, '127.0.0.1', listening));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((closed) => (this.server ? this.server.close(() => closed()) : closed()));
  }

  private async handle(url: URL): Promise<{ status: number; body: unknown }> {
    const ok = (data: unknown) => ({ status: 200, body: { success: true, message: 'Success', data } });
    if (url.pathname === '/api/v1/ledger/checkpoint') {
      const checkpoint = await this.checkpoint();
      return this.answer ? this.answer(checkpoint) : ok(checkpoint);
    }
    if (url.pathname === '/api/v1/ledger/consistency') {
      const from = Number(url.searchParams.get('from'));
      const to = Number(url.searchParams.get('to'));
      if (!(from >= 1 && from <= to && to <= this.leaves.length)) {
        return { status: 400, body: { success: false, error: { code: 'HTTP_400', message: 'Bad Request' } } };
      }
      const proof = await consistencyProof(this.subtree, from, to);
      return ok({ from, to, proof: proof.map((hash) => hash.toString('base64')) });
    }
    return { status: 404, body: { success: false, error: { code: 'HTTP_404', message: 'Not Found' } } };
  }
}

describe('npm run cli -- ledger-monitor', () => {
  let logbook: FakeLogbook;
  let directory: string;
  let state: string;

  beforeEach(async () => {
    logbook = new FakeLogbook();
    await logbook.start();
    directory = mkdtempSync(join(tmpdir(), 'ledger-monitor-'));
    state = join(directory, 'state.json');
  });

  afterEach(async () => {
    await logbook.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  async function run(...extra: string[]): Promise<{ code: number; output: string }> {
    const lines: string[] = [];
    const args = ['--url', logbook.url, '--verifier-key', logbook.key.vkey, '--state', state, ...extra];
    const code = await runLedgerMonitor(args, (line) => lines.push(line));
    return { code, output: lines.join('\n') };
  }

  /** Runs once on a log of `size` so that the state holds its checkpoint; the state's bytes. */
  async function trusted(size: number): Promise<string> {
    logbook.grow(size);
    expect((await run()).code).toBe(0);
    return readFileSync(state, 'utf8');
  }

  async function expectFailure(pattern: RegExp, kept: string): Promise<void> {
    const { code, output } = await run();
    expect(code).toBe(1);
    expect(output).toMatch(/^FAIL: /m);
    expect(output).toMatch(pattern);
    expect(readFileSync(state, 'utf8')).toBe(kept);
  }

  it('trusts the first checkpoint and keeps it', async () => {
    logbook.grow(10);
    const { code, output } = await run();
    expect(code).toBe(0);
    const checkpoint = await logbook.checkpoint();
    expect(output).toContain(`checkpoint of ${ORIGIN}: size 10, root ${String(checkpoint.rootHash)}`);
    expect(output).toContain('trusted from now on');
    const kept = JSON.parse(readFileSync(state, 'utf8'));
    expect(kept).toEqual({ verifierKey: logbook.key.vkey, note: checkpoint.note, checkedAt: expect.any(String) });
  });

  it('accepts a grown log by its consistency proof, and the same log again', async () => {
    await trusted(10);
    logbook.grow(23);
    const grown = await run();
    expect(grown.code).toBe(0);
    expect(grown.output).toContain('size 33');
    expect(grown.output).toContain(`consistent with the checkpoint of size 10 kept at ${state}`);
    expect(JSON.parse(readFileSync(state, 'utf8')).note).toBe((await logbook.checkpoint()).note);

    const again = await run();
    expect(again.code).toBe(0);
    expect(again.output).toContain('the same as the checkpoint of size 33');
  });

  it('fails when the history was rewritten, though signed by the same key, and keeps the old state', async () => {
    const kept = await trusted(10);
    logbook.leaves[3] = leafHash('{"id":3,"kind":"audit","altered":true}');
    logbook.grow(5);
    await expectFailure(/history was rewritten.*size 15.*size 10/, kept);
  });

  it('fails when the same size has another root', async () => {
    const kept = await trusted(10);
    logbook.leaves[9] = leafHash('another last leaf');
    await expectFailure(/history was rewritten: two signed roots for size 10/, kept);
  });

  it('fails when the log shrank', async () => {
    const kept = await trusted(10);
    logbook.leaves.pop();
    logbook.leaves.pop();
    await expectFailure(/the log shrank: size 8 now, after the checkpoint of size 10/, kept);
  });

  it('fails on a checkpoint signed by another key, even under the same name', async () => {
    const kept = await trusted(10);
    const trustedKey = logbook.key.vkey;
    logbook.key = freshKey();
    logbook.grow(1);
    const { code, output } = await captured(trustedKey);
    expect(code).toBe(1);
    expect(output).toMatch(/^FAIL: the checkpoint served is not signed/);
    expect(readFileSync(state, 'utf8')).toBe(kept);
  });

  it('fails on a tampered note, and on fields that differ from the note', async () => {
    const kept = await trusted(10);
    logbook.grow(2);
    logbook.answer = (checkpoint) => ({
      status: 200,
      body: { success: true, data: { ...checkpoint, note: String(checkpoint.note).replace('\n12\n', '\n13\n') } },
    });
    await expectFailure(/not signed by the verifier key/, kept);
    logbook.answer = (checkpoint) => ({ status: 200, body: { success: true, data: { ...checkpoint, treeSize: 13 } } });
    await expectFailure(/differ from its signed note/, kept);
  });

  it('fails when the kept state is of another key or does not verify', async () => {
    await trusted(4);
    const other = freshKey();
    writeFileSync(state, JSON.stringify({ verifierKey: other.vkey, note: 'x', checkedAt: 'then' }));
    await expectFailure(/of another verifier key/, readFileSync(state, 'utf8'));
    const forged = signNote(
      checkpointText({ origin: ORIGIN, treeSize: 1, rootHash: leafHash('x') }),
      ORIGIN,
      other.privateKey,
      other.raw,
    );
    writeFileSync(state, JSON.stringify({ verifierKey: logbook.key.vkey, note: forged, checkedAt: 'then' }));
    await expectFailure(/the checkpoint kept at .* is not signed/, readFileSync(state, 'utf8'));
    writeFileSync(state, '{ not json');
    await expectFailure(/cannot read the state/, '{ not json');
  });

  it('fails, saying why, when the server is down or answers an error', async () => {
    const kept = await trusted(3);
    logbook.answer = () => ({ status: 503, body: { success: false, error: { message: 'Service Unavailable' } } });
    await expectFailure(/GET .*\/api\/v1\/ledger\/checkpoint: 503 Service Unavailable/, kept);
    await logbook.stop();
    await expectFailure(/GET .*: ECONNREFUSED/, kept);
  });

  it('answers usage errors with exit code 2 and the usage', async () => {
    const lines: string[] = [];
    const out = (line: string) => lines.push(line);
    expect(await runLedgerMonitor([], out)).toBe(2);
    expect(await runLedgerMonitor(['--url', 'x', '--verifier-key', logbook.key.vkey, '--state', state], out)).toBe(2);
    expect(await runLedgerMonitor(['--url', logbook.url, '--verifier-key', 'a+b+c', '--state', state], out)).toBe(2);
    expect(await runLedgerMonitor(['--what'], out)).toBe(2);
    expect(lines.join('\n')).toMatch(/usage: npm run cli -- ledger-monitor --url URL --verifier-key VKEY --state FILE/);
  });

  async function captured(vkey: string): Promise<{ code: number; output: string }> {
    const lines: string[] = [];
    const code = await runLedgerMonitor(['--url', logbook.url, '--verifier-key', vkey, '--state', state], (line) =>
      lines.push(line),
    );
    return { code, output: lines.join('\n') };
  }
});
