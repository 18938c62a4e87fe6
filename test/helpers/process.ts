import { ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const ROOT = join(__dirname, '..', '..');

export interface RunningLogbook {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * Runs the real entry point (src/main.ts, compiled on the fly) as its own process, as `npm start` runs it.
 * `prefix` runs it through another command first (setpriv, for another OS user). `entry: 'build'` runs the
 * production build instead (dist/src/main.js, as `npm run start:prod` does), which `nest build` must have made.
 */
export function spawnLogbook(
  env: Record<string, string>,
  prefix: string[] = [],
  entry: 'source' | 'build' = 'source',
): { child: ChildProcess; ready: Promise<RunningLogbook> } {
  const main =
    entry === 'build'
      ? [join(ROOT, 'dist', 'src', 'main.js')]
      : ['-r', 'ts-node/register/transpile-only', join(ROOT, 'src', 'main.ts')];
  const argv = [...prefix, process.execPath, ...main];
  const child = spawn(argv[0], argv.slice(1), {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<RunningLogbook>((resolve, reject) => {
    const onData = () => {
      const match = /"url":"(http:\/\/[^"]+)".*Logbook listening/.exec(output);
      if (match) {
        child.stdout?.off('data', onData);
        resolve({ child, baseUrl: match[1].replace('0.0.0.0', '127.0.0.1'), output: () => output, exited });
      }
    };
    child.stdout?.on('data', onData);
    void exited.then((code) => reject(new Error(`Logbook exited with ${code} before listening:\n${output}`)));
  });
  return { child, ready };
}

/** Runs `npm run cli -- <args>` (src/cli/main.ts, compiled on the fly) against a database: the test run's by default. */
export function cli(
  args: string[],
  databaseUrl = process.env.TEST_DATABASE_URL!,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', join(ROOT, 'src', 'cli', 'main.ts'), ...args],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: databaseUrl,
        JWT_SECRET: 'logbook-test-secret-0123456789-abcdefghij',
      },
    },
  ).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );
}
