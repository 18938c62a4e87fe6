import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppSecrets } from './secrets';
import { loadSettings } from './settings';

describe('AppSecrets', () => {
  it('uses JWT_SECRET when set', () => {
    const secrets = AppSecrets.from(loadSettings({ JWT_SECRET: 's'.repeat(40) }, { envFile: false }));
    expect(secrets.jwtKey.export().toString()).toBe('s'.repeat(40));
  });

  it('otherwise generates a secret once, kept beside the embedded data (mode 0600), so tokens survive restarts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'logbook-secrets-'));
    const settings = loadSettings({ EMBEDDED_PG_DIR: join(dir, 'data', 'pg') }, { envFile: false });
    const first = AppSecrets.from(settings);
    const file = join(dir, 'data', 'jwt-secret');
    expect(readFileSync(file, 'utf8').length).toBeGreaterThanOrEqual(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = AppSecrets.from(settings);
    expect(second.jwtKey.export().equals(first.jwtKey.export())).toBe(true);
    expect(second.cursorKey.equals(first.cursorKey)).toBe(true);
  });
});
