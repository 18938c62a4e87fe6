#!/usr/bin/env node
// `npm audit --omit=dev`: fails on any high or critical advisory in what Logbook ships (its production
// dependencies). When the registry's advisory endpoint cannot be asked at all (some mirrors and proxies refuse its
// POST, as on the machines this project is built on), it says so loudly and does not pretend to have checked.
const { spawnSync } = require('node:child_process');

/** What `npm audit --json` printed, judged: `ok` false only for a high or critical advisory. */
function verdict(stdout, stderr = '') {
  let report;
  try {
    report = JSON.parse(stdout);
  } catch {
    report = undefined;
  }
  const counts = report?.metadata?.vulnerabilities;
  if (!counts) {
    const reason = report?.message ?? report?.error?.summary ?? (stderr.trim().split('\n').pop() || 'no report');
    return { ok: true, checked: false, message: `NOT CHECKED, the advisory endpoint did not answer: ${reason}` };
  }
  const summary = Object.entries(counts)
    .map(([level, n]) => `${level} ${n}`)
    .join(', ');
  const serious = Object.entries(report.vulnerabilities ?? {})
    .filter(([, entry]) => entry.severity === 'high' || entry.severity === 'critical')
    .map(([name, entry]) => `${entry.severity} ${name} ${entry.range}`);
  if ((counts.high ?? 0) + (counts.critical ?? 0) === 0) {
    return { ok: true, checked: true, message: `no high or critical advisory (${summary})` };
  }
  return { ok: false, checked: true, message: `high or critical advisories (${summary}):\n  ${serious.join('\n  ')}` };
}

if (require.main === module) {
  const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { cwd: `${__dirname}/..`, encoding: 'utf8' });
  const result = verdict(run.stdout, run.stderr);
  console.log(`npm audit --omit=dev: ${result.message}`);
  process.exit(result.ok ? 0 : 1);
}

module.exports = { verdict };
