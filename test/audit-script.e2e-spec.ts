// eslint-disable-next-line @typescript-eslint/no-require-imports
const { verdict } = require('../.ci/audit.js') as {
  verdict(stdout: string, stderr?: string): { ok: boolean; checked: boolean; message: string };
};

/** .ci/audit.js judges `npm audit --omit=dev --json`: CI fails on a high or critical advisory, and only then. */
describe('the CI dependency audit', () => {
  const report = (counts: Record<string, number>, vulnerabilities: Record<string, unknown> = {}) =>
    JSON.stringify({ auditReportVersion: 2, vulnerabilities, metadata: { vulnerabilities: counts } });
  const none = { info: 0, low: 0, moderate: 0, high: 0, critical: 0, total: 0 };

  it('passes a clean report', () => {
    expect(verdict(report(none))).toEqual({ ok: true, checked: true, message: expect.stringMatching(/^no high/) });
  });

  it('passes moderate and low advisories', () => {
    expect(verdict(report({ ...none, low: 1, moderate: 2, total: 3 })).ok).toBe(true);
  });

  it.each(['high', 'critical'])('fails a %s advisory and names the package', (severity) => {
    const result = verdict(report({ ...none, [severity]: 1, total: 1 }, { 'some-lib': { severity, range: '<1.2.3' } }));
    expect(result.ok).toBe(false);
    expect(result.message).toContain(`${severity} some-lib <1.2.3`);
  });

  it('says NOT CHECKED, without failing, when the advisory endpoint refuses', () => {
    const refused = JSON.stringify({
      message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
      statusCode: 405,
    });
    expect(verdict(refused)).toEqual({ ok: true, checked: false, message: expect.stringContaining('NOT CHECKED') });
    expect(verdict('', 'npm error network ENOTFOUND').message).toContain('ENOTFOUND');
  });
});
