import { createLogger } from '../src/common/logging/logger';
import { migrateDatabase } from '../src/database/database-server';
import { startTestApp, TestApp } from './helpers/app';
import { createUser, signIn, sql } from './helpers/factories';
import { http } from './helpers/http';
import { cli } from './helpers/process';
import { createDatabase, dropDatabase } from './setup/test-database';

const monthsAgo = (months: number) => {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - months, 15, 12));
};
const partitionOf = (table: string, date: Date) =>
  `${table}_p${date.getUTCFullYear()}_${String(date.getUTCMonth() + 1).padStart(2, '0')}`;

/**
 * Monthly partitions and `npm run cli -- retention`, on a database of their own: retention drops months and moves
 * the audit chain's base, which the other test files must not see.
 */
describe('monthly partitions and retention', () => {
  const databaseName = `logbook_retention_${process.pid}`;
  let url: string;
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof signIn>>;
  const db = <T = any>(text: string, params: unknown[] = []) => sql<T>(text, params, url);

  beforeAll(async () => {
    url = await createDatabase(process.env.TEST_ADMIN_DATABASE_URL!, databaseName);
    await migrateDatabase(url, createLogger('silent'));
    // A trail that began fourteen months ago: entries appended as the chain trigger appends them (the same id
    // sequence, hash and head), dated in the past, which only a test may do: the trigger is off meanwhile.
    await db('ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_chain');
    for (const [index, months] of [14, 14, 13, 13, 2].entries()) {
      await db(`SELECT logbook_month_partition('audit_logs', $1::date)`, [monthsAgo(months)]);
      await db(
        `WITH head AS (SELECT last_hash FROM audit_chain_head WHERE id = 1),
              draft AS (
                SELECT ROW(nextval('audit_logs_id_seq'), $1::timestamptz, NULL, 'history', 'CREATE', 'User', $2,
                           NULL, '{}'::jsonb, NULL, NULL, NULL, head.last_hash, '', NULL)::audit_logs AS e FROM head),
              entry AS (
                INSERT INTO audit_logs (id, created_at, username, action, entity_type, entity_id, new_values,
                                        prev_hash, hash)
                SELECT (e).id, (e).created_at, (e).username, (e).action, (e).entity_type, (e).entity_id,
                       (e).new_values, (e).prev_hash, audit_log_hash(e) FROM draft
                RETURNING id, hash, created_at)
         UPDATE audit_chain_head h SET last_id = entry.id, last_hash = entry.hash, last_created_at = entry.created_at
           FROM entry WHERE h.id = 1`,
        [new Date(monthsAgo(months).getTime() + index * 1000), String(index)],
      );
    }
    await db('ALTER TABLE audit_logs ENABLE TRIGGER audit_logs_chain');

    t = await startTestApp({ DATABASE_URL: url, LOG_LEVEL: 'silent' });
    const user = await createUser({}, t.baseUrl);
    await db(`UPDATE users SET role = 'ADMIN' WHERE id = $1`, [user.id]);
    admin = await signIn(user.email, user.password, t.baseUrl);
  });
  afterAll(async () => {
    await t?.close();
    await dropDatabase(process.env.TEST_ADMIN_DATABASE_URL!, databaseName);
  });

  const verify = async () =>
    (await http('/api/v1/audit-logs/verify', { token: admin.accessToken }, t.baseUrl)).body.data;

  it('starts from a valid chain (the history above is chained as the trigger chains)', async () => {
    expect(await verify()).toEqual({ valid: true, checked: expect.any(Number), firstInvalidId: null });
  });

  it('stores each month in its own partition, making months ahead, and prunes audit reads by their window', async () => {
    const names = (
      await db<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'audit_logs'::regclass`,
      )
    ).map(({ name }) => name);
    for (const months of [14, 13, 2, 0, -1, -2, -3])
      expect(names).toContain(partitionOf('audit_logs', monthsAgo(months)));
    expect(names).toContain('audit_logs_default');

    const start = new Date(Date.UTC(monthsAgo(13).getUTCFullYear(), monthsAgo(13).getUTCMonth(), 1));
    const end = new Date(Date.UTC(monthsAgo(13).getUTCFullYear(), monthsAgo(13).getUTCMonth() + 1, 1) - 1);
    const [{ 'QUERY PLAN': plan }] = await db(
      `EXPLAIN (FORMAT JSON) SELECT * FROM audit_logs WHERE created_at >= $1 AND created_at <= $2 ORDER BY created_at DESC, id DESC LIMIT 20`,
      [start, end],
    );
    const relations = new Set<string>();
    const walk = (node: any) => {
      if (node['Relation Name']) relations.add(node['Relation Name']);
      (node.Plans ?? []).forEach(walk);
    };
    walk(plan[0].Plan);
    expect([...relations]).toEqual([partitionOf('audit_logs', monthsAgo(13))]);
  });

  it('drops whole months older than the age given, records it, and keeps verify valid from there', async () => {
    // Activities: one fourteen months old, one two months old, one now.
    const posted: Record<string, number> = {};
    for (const [label, at] of [
      ['old', monthsAgo(14)],
      ['recent', monthsAgo(2)],
      ['now', new Date()],
    ] as const) {
      const res = await http(
        '/api/v1/activities',
        { method: 'POST', token: admin.accessToken, body: { action: `AT_${label}`, timestamp: at.toISOString() } },
        t.baseUrl,
      );
      expect(res.status).toBe(201);
      posted[label] = res.body.data.id;
    }
    // Dated in months without a partition, the old ones wait in DEFAULT until maintenance gives them months of
    // their own (`partitions`, which every start of Logbook or of the CLI runs too).
    const waiting = await db<{ id: string }>('SELECT id FROM activities_default ORDER BY id');
    expect(waiting.map(({ id }) => Number(id))).toEqual([posted.old, posted.recent]);
    const partitions = await cli(['partitions'], url);
    expect(partitions).toMatchObject({ code: 0, stdout: expect.stringMatching(/^partitions ready/) });
    expect(await db('SELECT id FROM activities_default')).toEqual([]);
    const [{ holder }] = await db<{ holder: string }>(
      'SELECT tableoid::regclass::text AS holder FROM activities WHERE id = $1',
      [posted.old],
    );
    expect(holder).toBe(partitionOf('activities', monthsAgo(14)));

    const dry = await cli(['retention', '--older-than', '365d', '--dry-run'], url);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/would remove/);
    expect(await db(`SELECT id FROM activities WHERE id = $1`, [posted.old])).toHaveLength(1);

    const [{ count: entriesBefore }] = await db<{ count: string }>('SELECT count(*) FROM audit_logs');
    // The months wholly older than 365 days: fourteen and thirteen months ago.
    const removedEntries = await db<{ id: string; hash: string }>(
      `SELECT id, hash FROM audit_logs WHERE tableoid = ANY($1::regclass[]) ORDER BY id`,
      [[partitionOf('audit_logs', monthsAgo(14)), partitionOf('audit_logs', monthsAgo(13))]],
    );
    expect(removedEntries).toHaveLength(4);
    const result = await cli(['retention', '--older-than', '365d'], url);
    expect(result).toMatchObject({ code: 0, stdout: expect.stringMatching(/^removed what is older than/) });

    // Activities: the fourteen-month-old one and its month are gone; the others stay.
    const get = (id: number) => http(`/api/v1/activities/${id}`, { token: admin.accessToken }, t.baseUrl);
    expect((await get(posted.old)).status).toBe(404);
    expect((await get(posted.recent)).status).toBe(200);
    expect((await get(posted.now)).status).toBe(200);
    const left = (
      await db<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent IN ('activities'::regclass, 'audit_logs'::regclass)`,
      )
    ).map(({ name }) => name);
    expect(left).not.toContain(partitionOf('activities', monthsAgo(14)));
    expect(left).not.toContain(partitionOf('audit_logs', monthsAgo(14)));
    expect(left).toContain(partitionOf('audit_logs', monthsAgo(2)));

    // The audit trail: two RETENTION entries say what went; the chain is valid from the new base.
    const entries = await http(
      '/api/v1/audit-logs?action=RETENTION&sort_by=id&sort_order=ASC',
      { token: admin.accessToken },
      t.baseUrl,
    );
    expect(entries.status).toBe(200);
    const [activityEntry, auditEntry] = entries.body.data;
    expect(activityEntry).toMatchObject({
      entity_type: 'ActivityLog',
      username: 'cli',
      new_values: { rows: 1, partitions: [partitionOf('activities', monthsAgo(14))] },
    });
    const lastRemoved = removedEntries[removedEntries.length - 1];
    expect(auditEntry).toMatchObject({
      entity_type: 'AuditLog',
      new_values: {
        entries: removedEntries.length,
        firstRemovedId: 1,
        lastRemovedId: Number(lastRemoved.id),
        lastRemovedHash: lastRemoved.hash,
      },
    });
    const [{ count: entriesAfter }] = await db<{ count: string }>('SELECT count(*) FROM audit_logs');
    // Removed entries gone, the two RETENTION entries added.
    expect(Number(entriesAfter)).toBe(Number(entriesBefore) - removedEntries.length + 2);
    expect(await verify()).toEqual({ valid: true, checked: Number(entriesAfter), firstInvalidId: null });

    // New entries keep chaining on, and verify stays valid.
    expect((await http('/api/v1/auth/logout', { method: 'POST', token: admin.accessToken }, t.baseUrl)).status).toBe(
      200,
    );
    admin = await signIn(admin.email, admin.password, t.baseUrl);
    expect((await verify()).valid).toBe(true);
  });

  it('is found out when someone moves the base to hide removed entries', async () => {
    const [head] = await db<{ base_id: string; base_hash: string }>('SELECT base_id, base_hash FROM audit_chain_head');
    const [next] = await db<{ id: string; hash: string }>(
      'SELECT id, hash FROM audit_logs WHERE id > $1 ORDER BY id LIMIT 1',
      [head.base_id],
    );
    await db('UPDATE audit_chain_head SET base_id = $1, base_hash = $2', [next.id, next.hash]);
    try {
      expect(await verify()).toMatchObject({ valid: false, firstInvalidId: Number(next.id) + 1 });
    } finally {
      await db('UPDATE audit_chain_head SET base_id = $1, base_hash = $2', [head.base_id, head.base_hash]);
    }
    expect((await verify()).valid).toBe(true);
  });

  it('refuses a bad age without touching the database', async () => {
    for (const age of ['0d', '365', 'a year', '-5d', '']) {
      const result = await cli(['retention', `--older-than=${age}`], 'postgres://nobody@127.0.0.1:1/none');
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/--older-than must be a positive age/);
    }
  });

  it('refuses an audit entry whose time is not the database’s own stamp', async () => {
    await expect(
      db(
        `INSERT INTO audit_logs (created_at, action, entity_type, prev_hash, hash)
         VALUES (now() - interval '2 years', 'CREATE', 'User', '', '')`,
      ),
    ).rejects.toThrow(/created_at is assigned by the database/);
  });
});
