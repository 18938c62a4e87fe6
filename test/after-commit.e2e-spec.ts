import { randomUUID } from 'node:crypto';
import { Transactions, Tx } from '../src/database/transactions';
import { AuditLogService } from '../src/modules/audit-log/audit-log.service';
import { createActivity } from './helpers/activities';
import { startTestApp, TestApp } from './helpers/app';
import { createUser, sql } from './helpers/factories';
import { http } from './helpers/http';

describe('after-commit effects', () => {
  let t: TestApp;
  let transactions: Transactions;
  let audit: AuditLogService;
  /** What the hooks and effects saw, with whether the entry they follow was visible to another connection then. */
  let seen: { what: string; subjects?: number[]; committed: boolean }[];
  let marker: string;
  /** Test subjects: no user has a negative id, so no request of the app touches them. */
  const mine = (subjects: number[]) => subjects.filter((subject) => subject < 0);

  const entryVisible = async () => (await sql('SELECT 1 FROM audit_logs WHERE entity_id = $1', [marker])).length > 0;
  const writeEntry = (tx: Tx) =>
    audit.record(tx, { action: 'UPDATE', entityType: 'User', entityId: marker, actor: { id: null, email: 'test' } });
  const declare = (tx: Tx) => {
    tx.touch('activitiesChanged', -1);
    tx.touch('activitiesChanged', -2);
    tx.touch('activitiesChanged', -1);
    tx.afterCommit(async () => void seen.push({ what: 'effect', committed: await entryVisible() }));
  };

  beforeAll(async () => {
    t = await startTestApp({ LOG_LEVEL: 'silent' });
    transactions = t.app.get(Transactions);
    audit = t.app.get(AuditLogService);
    transactions.onCommit('activitiesChanged', async (subjects) => {
      if (mine(subjects).length) seen.push({ what: 'hook', subjects: mine(subjects), committed: await entryVisible() });
    });
  });
  beforeEach(() => {
    seen = [];
    marker = `after-commit-${randomUUID()}`;
  });
  afterAll(async () => {
    await t.close();
  });

  it('run: the hooks of each touched topic run once, with each subject once, then the effects, after the commit', async () => {
    await transactions.run(async (tx) => {
      declare(tx);
      await writeEntry(tx);
    });
    expect(seen).toEqual([
      { what: 'hook', subjects: [-1, -2], committed: true },
      { what: 'effect', committed: true },
    ]);
  });

  it('run: nothing runs when the work throws, and its write is rolled back', async () => {
    await expect(
      transactions.run(async (tx) => {
        declare(tx);
        await writeEntry(tx);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(seen).toEqual([]);
    expect(await entryVisible()).toBe(false);
  });

  it('run: nothing runs when a statement fails and PostgreSQL rolls the transaction back', async () => {
    await expect(
      transactions.run(async (tx) => {
        declare(tx);
        await writeEntry(tx);
        await tx.query('SELECT 1 / 0');
      }),
    ).rejects.toThrow(/division by zero/);
    expect(seen).toEqual([]);
    expect(await entryVisible()).toBe(false);
  });

  it('single: runs the effects once after its statement, and none when the statement fails', async () => {
    await expect(
      transactions.single(async (tx) => {
        declare(tx);
        await tx.query('SELECT 1 / 0');
      }),
    ).rejects.toThrow(/division by zero/);
    expect(seen).toEqual([]);

    await transactions.single(async (tx) => {
      declare(tx);
      await writeEntry(tx);
    });
    expect(seen).toEqual([
      { what: 'hook', subjects: [-1, -2], committed: true },
      { what: 'effect', committed: true },
    ]);
  });

  it('runs every effect when one fails, then answers that failure (the write stays committed)', async () => {
    await expect(
      transactions.run(async (tx) => {
        tx.afterCommit(() => {
          throw new Error('an effect failed');
        });
        declare(tx);
        await writeEntry(tx);
      }),
    ).rejects.toThrow('an effect failed');
    expect(seen).toEqual([
      { what: 'hook', subjects: [-1, -2], committed: true },
      { what: 'effect', committed: true },
    ]);
  });

  it('keeps what one transaction declared out of another running at the same time', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = transactions.run(async (tx) => {
      tx.touch('activitiesChanged', -10);
      await held;
      throw new Error('rolled back');
    });
    await transactions.single(async (tx) => {
      tx.touch('activitiesChanged', -20);
      await tx.query('SELECT 1');
    });
    release();
    await expect(first).rejects.toThrow('rolled back');
    expect(seen).toEqual([{ what: 'hook', subjects: [-20], committed: false }]);
  });

  it('tells the hooks of every activity stored and every audit entry added, by the requests that did it', async () => {
    const created: number[] = [];
    const audited: number[] = [];
    transactions.onCommit('activityCreated', (ids) => void created.push(...ids));
    transactions.onCommit('auditEntryAdded', (ids) => void audited.push(...ids));
    const user = await createUser({}, t.baseUrl);
    const one = await createActivity(user, {}, t.baseUrl);
    const batch = await http(
      '/api/v1/activities/batch',
      { method: 'POST', token: user.accessToken, body: { items: [{ action: 'A' }, { action: 'B' }] } },
      t.baseUrl,
    );
    expect(batch.status).toBe(201);
    const changed = await http(
      `/api/v1/activities/${one.id}/status`,
      { method: 'PATCH', token: user.accessToken, body: { status: 'DONE' } },
      t.baseUrl,
    );
    expect(changed.status).toBe(200);
    expect(created).toEqual([one.id, ...batch.body.data.map((activity: { id: number }) => activity.id)]);
    const entries = await sql<{ id: string; action: string }>(
      `SELECT id, action FROM audit_logs WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [audited],
    );
    // The registration's entry, then the status change's.
    expect(entries.map((entry) => entry.action)).toEqual(['CREATE', 'UPDATE']);
    expect(audited).toHaveLength(2);
  });
});
