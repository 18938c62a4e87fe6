/**
 * Where a process's CPU time went, from a V8 `.cpuprofile` (`node --cpu-prof`): self time summed by package (or
 * by the app's own module) and by function. `npm run bench -- --profile DIR` prints it for Logbook;
 * `node -r ts-node/register/transpile-only bench/profile-summary.ts FILE.cpuprofile` for any profile.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function summarizeProfile(file: string, top = 30): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    total += delta;
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    const own = /\/dist\/(src\/(?:[^/]+\/){0,2})/.exec(url)?.[1];
    const where = pkg ?? (own ? `logbook ${own}` : url.startsWith('node:') ? url : functionName || '(native)');
    byPackage.set(where, (byPackage.get(where) ?? 0) + delta);
    const name = `${functionName || '(anonymous)'} ${url.replace(/.*node_modules\//, '').replace(/.*\/dist\//, '')}:${lineNumber}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + delta);
  });
  const table = (title: string, sums: Map<string, number>) =>
    [
      `${title} (of ${(total / 1e6).toFixed(1)} s sampled)`,
      ...[...sums]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([key, time]) => `${((100 * time) / total).toFixed(1).padStart(5)}%  ${key}`),
    ].join('\n');
  return `${table('self time by package', byPackage)}\n\n${table('self time by function', byFunction)}`;
}

if (require.main === module)
  process.stdout.write(`${summarizeProfile(process.argv[2], Number(process.argv[3] ?? 30))}\n`);
