import { createUser, signIn, sql, uniqueEmail } from './helpers/factories';
import { cli } from './helpers/process';

describe('npm run cli -- create-admin', () => {
  it('creates an ADMIN that can sign in, recorded as done by the CLI', async () => {
    const email = uniqueEmail('root');
    const result = await cli(['create-admin', '--email', email, '--password', 'admin password 1', '--name', 'Root']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/created ADMIN/);
    const admin = await signIn(email, 'admin password 1');
    expect(admin.role).toBe('ADMIN');
    const [entry] = await sql(`SELECT * FROM audit_logs WHERE entity_type = 'User' AND entity_id = $1`, [
      String(admin.id),
    ]);
    expect(entry).toMatchObject({
      action: 'CREATE',
      user_id: null,
      username: 'cli',
      new_values: { role: 'ADMIN', password: '[REDACTED]' },
    });
  });

  it('makes an existing user an ADMIN, ending its logins', async () => {
    const user = await createUser();
    const result = await cli(['create-admin', '--email', user.email.toUpperCase(), '--password', 'ignored password']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/is an ADMIN/);
    expect((await signIn(user.email, user.password)).role).toBe('ADMIN');
  });

  it('refuses bad arguments with exit code 2 and the usage', async () => {
    const result = await cli(['create-admin', '--email', 'not-an-email', '--password', 'x']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/usage: npm run cli -- create-admin/);
  });
});
