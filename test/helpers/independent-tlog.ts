import { execFile, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Go's reference implementation of transparency logs (golang.org/x/mod/sumdb/tlog and sumdb/note), as Debian
 * packages it (golang-go, golang-golang-x-mod-dev), to check the ledger's proofs and signed notes with code that
 * shares nothing with ours. test/support/tlog-check/main.go is built once per version of its source.
 */

const SOURCE = join(__dirname, '..', 'support', 'tlog-check', 'main.go');
const GOPATH_ROOTS = ['/usr/share/gocode', ...(process.env.GOPATH ?? '').split(delimiter).filter(Boolean)];
const X_MOD_TLOG = join('src', 'golang.org', 'x', 'mod', 'sumdb', 'tlog');

/** Why the Go checks cannot run. */
export const GO_MISSING = 'no `go` with golang.org/x/mod here (Debian: golang-go golang-golang-x-mod-dev)';

let available: boolean | undefined;

/** Whether `go` runs and finds golang.org/x/mod in GOPATH mode. */
export function goAvailable(): boolean {
  available ??=
    spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0 &&
    GOPATH_ROOTS.some((root) => existsSync(join(root, X_MOD_TLOG)));
  return available;
}

/**
 * `it`, unless Go is missing: then the test is skipped saying why, except on CI (CI=true), where it runs and fails.
 */
export function itWithGo(name: string, test: () => Promise<void>, timeout?: number): void {
  if (goAvailable() || process.env.CI === 'true') it(name, test, timeout);
  else it.skip(`${name} (skipped: ${GO_MISSING})`, test, timeout);
}

let built: Promise<string> | undefined;

/** The path of the tlog-check binary, building it the first time (about 10 s with a cold Go cache). */
export function goBinary(): Promise<string> {
  built ??= build();
  return built;
}

async function build(): Promise<string> {
  if (!goAvailable()) throw new Error(`${GO_MISSING}: on CI (CI=true) the Go checks must run; .ci/run installs them`);
  const source = readFileSync(SOURCE);
  const version = spawnSync('go', ['version'], { encoding: 'utf8' }).stdout;
  const key = createHash('sha256').update(version).update(source).digest('hex').slice(0, 16);
  const directory = join(tmpdir(), 'logbook-tlog-check');
  const binary = join(directory, `tlog-check-${key}`);
  if (existsSync(binary)) return binary;
  mkdirSync(join(directory, 'gopath'), { recursive: true });
  // Written beside and renamed, so that two Jest workers building at once never run a half-written binary.
  const partial = `${binary}.${process.pid}.partial`;
  await promisify(execFile)('go', ['build', '-o', partial, SOURCE], {
    cwd: directory,
    env: {
      ...process.env,
      GO111MODULE: 'off',
      GOFLAGS: '',
      GOPATH: [join(directory, 'gopath'), ...GOPATH_ROOTS].join(delimiter),
      GOCACHE: join(directory, 'cache'),
    },
  });
  renameSync(partial, binary);
  return binary;
}

export type GoRequest =
  | { op: 'inclusion'; leafHash: string; index: number; treeSize: number; proof: string[]; rootHash: string }
  | { op: 'consistency'; from: number; to: number; proof: string[]; fromRoot: string; toRoot: string }
  | { op: 'note'; verifierKey: string; note: string };

export interface GoAnswer {
  ok: boolean;
  error?: string;
  /** The note's text, when `op` was `note` and it opened. */
  text?: string;
}

/** Answers every request in one run of the binary (one process for thousands of proofs). */
export async function goCheckAll(requests: GoRequest[]): Promise<GoAnswer[]> {
  const binary = await goBinary();
  const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  child.stdin.end(requests.map((request) => JSON.stringify(request)).join('\n'));
  const code = await exited;
  if (code !== 0) throw new Error(`tlog-check exited with ${code}: ${Buffer.concat(stderr).toString()}`);
  const answers = Buffer.concat(stdout)
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as GoAnswer);
  if (answers.length !== requests.length) throw new Error(`${requests.length} requests, ${answers.length} answers`);
  return answers;
}

const b64 = (hash: Buffer) => hash.toString('base64');

export interface InclusionCheck {
  leafHash: Buffer;
  index: number;
  treeSize: number;
  proof: Buffer[];
  rootHash: Buffer;
}

export interface ConsistencyCheck {
  from: number;
  to: number;
  proof: Buffer[];
  fromRoot: Buffer;
  toRoot: Buffer;
}

export function inclusionRequest(check: InclusionCheck): GoRequest {
  const { leafHash, index, treeSize, proof, rootHash } = check;
  return { op: 'inclusion', leafHash: b64(leafHash), index, treeSize, proof: proof.map(b64), rootHash: b64(rootHash) };
}

export function consistencyRequest(check: ConsistencyCheck): GoRequest {
  const { from, to, proof, fromRoot, toRoot } = check;
  return { op: 'consistency', from, to, proof: proof.map(b64), fromRoot: b64(fromRoot), toRoot: b64(toRoot) };
}

/** tlog.CheckRecord. */
export async function goCheckInclusion(check: InclusionCheck): Promise<GoAnswer> {
  return (await goCheckAll([inclusionRequest(check)]))[0];
}

/** tlog.CheckTree. */
export async function goCheckConsistency(check: ConsistencyCheck): Promise<GoAnswer> {
  return (await goCheckAll([consistencyRequest(check)]))[0];
}

/** note.Open with note.NewVerifier(verifierKey) as the only known verifier. */
export async function goOpenNote(verifierKey: string, note: string): Promise<GoAnswer> {
  return (await goCheckAll([{ op: 'note', verifierKey, note }]))[0];
}
