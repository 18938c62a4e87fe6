import { HttpStatus } from '@nestjs/common';
import { AppException } from '../src/common/http/app.exception';
import { createLogger } from '../src/common/logging/logger';
import { migrateDatabase } from '../src/database/database-server';
import { Transactions } from '../src/database/transactions';
import { AuditLogService } from '../src/modules/audit-log/audit-log.service';
import { UsersRepository } from '../src/modules/users/users.repository';
import { startTestApp, TestApp } from './helpers/app';
import { createAdmin, createUser, signIn, sql, TestUser } from './helpers/factories';
import { http } from './helpers/http';
import { createDatabase, dropDatabase } from './setup/test-database';

describe('the audit trail’s integrity', () => {
  const databaseName = `logbook_audit_${process.pid}`;
  let url: string;
  let t: TestApp;
  let admin: TestUser;
  const verify = () => http('/api/v1/audit-logs/verify', { token: admin.accessToken }, t.baseUrl);
  const db = (text: string, params: unknown[] = []) => sql(text, params, url);

  beforeAll(async () => {
    // A database of its own: these tests alter entries behind the application's back.
    url = await createDatabase(process.env.TEST_ADMIN_DATABASE_URL!, databaseName);
    await migrateDatabase(url, createLogger('silent'));
    t = await startTestApp({ DATABASE_URL: url, LOG_LEVEL: 'silent' });
    const first = await createUser({}, t.baseUrl);
    await db(`UPDATE users SET role = 'ADMIN' WHERE id = $1`, [first.id]);
    admin = await signIn(first.email, first.password, t.baseUrl);
  });
  afterAll(async () => {
    await t.close();
    await dropDatabase(process.env.TEST_ADMIN_DATABASE_URL!, databaseName);
  });

  it('is refused any UPDATE, DELETE or TRUNCATE by the database itself', async () => {
    await expect(db(`UPDATE audit_logs SET action = 'LOGOUT'`)).rejects.toThrow(/append-only/);
    await expect(db('DELETE FROM audit_logs')).rejects.toThrow(/append-only/);
    await expect(db('TRUNCATE audit_logs')).rejects.toThrow(/append-only/);
  });

  it('chains every entry to the one before, also under concurrent writers', async () => {
    await Promise.all(Array.from({ length: 30 }, () => createUser({}, t.baseUrl)));
    const rows = await db('SELECT id, prev_hash, hash FROM audit_logs ORDER BY id');
    expect(rows.length).toBeGreaterThan(20);
    expect(rows[0].prev_hash).toBe('0'.repeat(64));
    for (let i = 1; i < rows.length; i += 1) expect(rows[i].prev_hash).toBe(rows[i - 1].hash);
    expect(new Set(rows.map((row) => row.prev_hash)).size).toBe(rows.length);
    const res = await verify();
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ valid: true, checked: expect.any(Number), firstInvalidId: null });
    expect(res.body.data.checked).toBe(rows.length);
  });

  it('names the first entry altered behind the application’s back, and the first one after a removed entry', async () => {
    await createUser({}, t.baseUrl);
    const [target] = await db(`SELECT id FROM audit_logs ORDER BY id DESC OFFSET 3 LIMIT 1`);
    await db(`
      BEGIN;
      ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_append_only;
      UPDATE audit_logs SET new_values = '{"role": "ADMIN"}' WHERE id = ${Number(target.id)};
      ALTER TABLE audit_logs ENABLE TRIGGER audit_logs_append_only;
      COMMIT;`);
    const altered = await verify();
    expect(altered.body.data).toEqual({ valid: false, checked: expect.any(Number), firstInvalidId: Number(target.id) });
    const total = (await db('SELECT count(*)::int AS n FROM audit_logs'))[0].n;
    expect(altered.body.data.checked).toBe(total);

    // Removing a later entry: the entry after it no longer names its predecessor; the first invalid stays the first.
    const [later] = await db(`SELECT id FROM audit_logs WHERE id > $1 ORDER BY id LIMIT 1`, [target.id]);
    await db(`
      BEGIN;
      ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_append_only;
      DELETE FROM audit_logs WHERE id = ${Number(later.id)};
      ALTER TABLE audit_logs ENABLE TRIGGER audit_logs_append_only;
      COMMIT;`);
    expect((await verify()).body.data.firstInvalidId).toBe(Number(target.id));
  });
});

describe('audit entries and their changes commit together', () => {
  let t: TestApp;
  let transactions: Transactions;
  let audit: AuditLogService;
  let users: UsersRepository;

  beforeAll(async () => {
    t = await startTestApp({ LOG_LEVEL: 'silent' });
    transactions = t.app.get(Transactions);
    audit = t.app.get(AuditLogService);
    users = t.app.get(UsersRepository);
  });
  afterAll(async () => {
    await t.close();
  });

  it('leaves no entry when the change fails', async () => {
    const user = await createUser();
    await expect(
      transactions.run(async (tx) => {
        await audit.record(tx, {
          action: 'UPDATE',
          entityType: 'User',
          entityId: user.id,
          newValues: { name: 'x'.repeat(101) },
        });
        await users.update(tx, user.id, { name: 'x'.repeat(101) });
      }),
    ).rejects.toThrow(/value too long/);
    expect(
      await sql(`SELECT 1 FROM audit_logs WHERE entity_type = 'User' AND entity_id = $1 AND action = 'UPDATE'`, [
        String(user.id),
      ]),
    ).toEqual([]);
  });

  it('undoes the change when its entry fails', async () => {
    const user = await createUser({ name: 'Unchanged' });
    await expect(
      transactions.run(async (tx) => {
        await users.update(tx, user.id, { name: 'Changed' });
        await audit.record(tx, {
          action: 'UPDATE',
          entityType: 'User',
          entityId: 'x'.repeat(101),
          newValues: { name: 'Changed' },
        });
      }),
    ).rejects.toThrow(/value too long/);
    expect(await sql('SELECT name FROM users WHERE id = $1', [user.id])).toEqual([{ name: 'Unchanged' }]);
  });

  it('rolls back a service’s change and entry together when the request fails midway', async () => {
    const admin = await createAdmin(t.baseUrl);
    await expect(
      transactions.run(async (tx) => {
        await audit.record(tx, {
          action: 'DELETE',
          entityType: 'User',
          entityId: admin.id,
          actor: { id: admin.id, email: admin.email },
        });
        throw new AppException(HttpStatus.CONFLICT, 'conflict');
      }),
    ).rejects.toBeInstanceOf(AppException);
    expect(
      await sql(`SELECT 1 FROM audit_logs WHERE entity_type = 'User' AND entity_id = $1 AND action = 'DELETE'`, [
        String(admin.id),
      ]),
    ).toEqual([]);
  });
});
