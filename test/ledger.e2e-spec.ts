import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLedgerMonitor } from '../src/cli/ledger-monitor';
import { createLogger } from '../src/common/logging/logger';
import { migrateDatabase } from '../src/database/database-server';
import { Settings } from '../src/config/settings';
import { Transactions } from '../src/database/transactions';
import { LedgerIntegrator } from '../src/modules/ledger/ledger-integrator.service';
import { WebhookOutbox } from '../src/modules/webhooks/outbox/webhook-outbox';
import { LedgerKey } from '../src/modules/ledger/ledger-key';
import { LedgerRepository } from '../src/modules/ledger/ledger.repository';
import { RetentionService } from '../src/modules/retention/retention.service';
import { leafHash, verifyConsistency, verifyInclusion } from '../src/modules/ledger/merkle';
import { openNote, parseCheckpointText, parseVerifierKey } from '../src/modules/ledger/signed-note';
import { createActivity } from './helpers/activities';
import { startTestApp, TestApp } from './helpers/app';
import { createUser, signIn, sql, TestUser } from './helpers/factories';
import { http } from './helpers/http';
import { createDatabase, dropDatabase } from './setup/test-database';

// An implementation of RFC 9162 inclusion proofs that is not ours: Sigstore's, as it checks Rekor's log.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sigstore = require('@sigstore/verify/dist/tlog/merkle') as {
  verifyMerkleInclusion(
    entry: { canonicalizedBody: Buffer; inclusionProof: { logIndex: string; hashes: Buffer[] } },
    checkpoint: { logSize: bigint; logHash: Buffer },
  ): void;
};

const b64 = (text: string) => Buffer.from(text, 'base64');

/** Checks a proof answer with our verifier and with Sigstore's, against its checkpoint's signed note. */
function checkProof(data: any, verifierKey: string): void {
  const text = openNote(data.checkpoint.note, parseVerifierKey(verifierKey));
  expect(text).toBeDefined();
  const body = parseCheckpointText(text!)!;
  expect(body.treeSize).toBe(data.treeSize);
  expect(body.rootHash.toString('base64')).toBe(data.checkpoint.rootHash);
  expect(leafHash(data.leaf).toString('base64')).toBe(data.leafHash);
  const proof = data.proof.map(b64);
  expect(verifyInclusion(b64(data.leafHash), data.leafIndex, data.treeSize, proof, body.rootHash)).toBe(true);
  expect(() =>
    sigstore.verifyMerkleInclusion(
      {
        canonicalizedBody: Buffer.from(data.leaf, 'utf8'),
        inclusionProof: { logIndex: String(data.leafIndex), hashes: proof },
      },
      { logSize: BigInt(data.treeSize), logHash: body.rootHash },
    ),
  ).not.toThrow();
}

describe('the ledger', () => {
  const databaseName = `logbook_ledger_${process.pid}`;
  let url: string;
  let t: TestApp;
  let admin: TestUser;
  let user: TestUser;
  let other: TestUser;
  let verifierKey: string;
  const db = (text: string, params: unknown[] = []) => sql(text, params, url);
  const get = (path: string, token?: string) => http(`/api/v1${path}`, { token }, t.baseUrl);
  /** Integrates what waits, as the background loop would (it is slowed down here so tests choose the moment). */
  const integrate = () => t.app.get(LedgerIntegrator).drain();
  const verify = async () => {
    const res = await get('/ledger/verify', admin.accessToken);
    expect(res.status).toBe(200);
    return res.body.data;
  };

  beforeAll(async () => {
    // A database of its own: these tests alter records and the ledger behind the application's back.
    url = await createDatabase(process.env.TEST_ADMIN_DATABASE_URL!, databaseName);
    await migrateDatabase(url, createLogger('silent'));
    t = await startTestApp({ DATABASE_URL: url, LOG_LEVEL: 'silent', LEDGER_INTEGRATE_INTERVAL_MS: '60000' });
    const first = await createUser({}, t.baseUrl);
    await db(`UPDATE users SET role = 'ADMIN' WHERE id = $1`, [first.id]);
    admin = await signIn(first.email, first.password, t.baseUrl);
    user = await createUser({}, t.baseUrl);
    other = await createUser({}, t.baseUrl);
    verifierKey = (await get('/ledger/public-key')).body.data.verifierKey;
  });
  afterAll(async () => {
    await t.close();
    await dropDatabase(process.env.TEST_ADMIN_DATABASE_URL!, databaseName);
  });

  it('publishes its key in C2SP form, to anyone', async () => {
    const res = await get('/ledger/public-key');
    expect(res.status).toBe(200);
    const { origin, keyId, publicKey } = res.body.data;
    expect(origin).toBe('logbook.test/ledger');
    expect(Buffer.from(publicKey, 'base64')).toHaveLength(32);
    expect(keyId).toMatch(/^[0-9a-f]{8}$/);
    expect(res.body.data.verifierKey).toBe(
      `${origin}+${keyId}+${Buffer.concat([Buffer.from([1]), Buffer.from(publicKey, 'base64')]).toString('base64')}`,
    );
    expect(() => parseVerifierKey(res.body.data.verifierKey)).not.toThrow();
  });

  it('answers 409 with Retry-After for a record not in the tree yet, then a proof that verifies', async () => {
    const activity = await createActivity(user, { action: 'DOWNLOAD_FILE', metadata: { b: 1, a: 'é' } }, t.baseUrl);
    const early = await get(`/activities/${activity.id}/proof`, user.accessToken);
    expect(early.status).toBe(409);
    expect(early.headers.get('retry-after')).toBe('2');
    expect(await integrate()).toBeGreaterThan(0);
    const res = await get(`/activities/${activity.id}/proof`, user.accessToken);
    expect(res.status).toBe(200);
    // The leaf is the activity as POST answered it, without updatedAt, with kind, in canonical JSON.
    const { updatedAt: _updatedAt, ...created } = activity;
    expect(JSON.parse(res.body.data.leaf)).toEqual({ kind: 'activity', ...created });
    expect(res.body.data.leaf.indexOf('"action"')).toBeLessThan(res.body.data.leaf.indexOf('"actor"'));
    expect(res.body.data.leaf).toContain('"metadata":{"a":"é","b":1}');
    checkProof(res.body.data, verifierKey);
  });

  it('proves every record of a batch, an audit entry, and an activity as created after its status changed', async () => {
    const batch = await http(
      '/api/v1/activities/batch',
      {
        method: 'POST',
        token: user.accessToken,
        body: { items: Array.from({ length: 300 }, (_, i) => ({ action: 'VIEW_COURSE', metadata: { i } })) },
      },
      t.baseUrl,
    );
    expect(batch.status).toBe(201);
    const changed = batch.body.data[7];
    const patched = await http(
      `/api/v1/activities/${changed.id}/status`,
      { method: 'PATCH', token: user.accessToken, body: { status: 'DONE' } },
      t.baseUrl,
    );
    expect(patched.status).toBe(200);
    await integrate();
    for (const activity of batch.body.data.filter((_: unknown, i: number) => i % 37 === 0 || i === 7)) {
      const res = await get(`/activities/${activity.id}/proof`, user.accessToken);
      expect(res.status).toBe(200);
      checkProof(res.body.data, verifierKey);
    }
    const proof = (await get(`/activities/${changed.id}/proof`, user.accessToken)).body.data;
    expect(JSON.parse(proof.leaf).status).toBe('PENDING');

    const [entry] = await db(
      `SELECT id FROM audit_logs WHERE entity_type = 'ActivityLog' AND entity_id = $1 AND action = 'UPDATE'`,
      [String(changed.id)],
    );
    const auditProof = await get(`/audit-logs/${entry.id}/proof`, admin.accessToken);
    expect(auditProof.status).toBe(200);
    const stored = (await get(`/audit-logs/${entry.id}`, admin.accessToken)).body.data;
    expect(JSON.parse(auditProof.body.data.leaf)).toEqual({ kind: 'audit', ...stored });
    checkProof(auditProof.body.data, verifierKey);

    // Against an older checkpoint too.
    const older = await get(`/activities/${changed.id}/proof?treeSize=${proof.treeSize}`, user.accessToken);
    expect(older.status).toBe(200);
    checkProof(older.body.data, verifierKey);
  });

  it('proves an audit entry made with an API key, with its api_key_id in the leaf, and verifies it', async () => {
    const created = await http(
      '/api/v1/api-keys',
      { method: 'POST', token: user.accessToken, body: { name: 'ledger', scopes: ['activities:write'] } },
      t.baseUrl,
    );
    expect(created.status).toBe(201);
    const withKey = { 'x-api-key': created.body.data.key };
    const activity = await http(
      '/api/v1/activities',
      { method: 'POST', headers: withKey, body: { action: 'KEYED' } },
      t.baseUrl,
    );
    const changed = await http(
      `/api/v1/activities/${activity.body.data.id}/status`,
      { method: 'PATCH', headers: withKey, body: { status: 'DONE' } },
      t.baseUrl,
    );
    expect(changed.status).toBe(200);
    const [entry] = await db(
      `SELECT id FROM audit_logs WHERE entity_type = 'ActivityLog' AND entity_id = $1 AND action = 'UPDATE'`,
      [String(activity.body.data.id)],
    );
    await integrate();
    const proof = await get(`/audit-logs/${entry.id}/proof`, admin.accessToken);
    expect(proof.status).toBe(200);
    expect(JSON.parse(proof.body.data.leaf)).toMatchObject({ kind: 'audit', api_key_id: created.body.data.id });
    checkProof(proof.body.data, verifierKey);
    expect((await verify()).problems).toEqual([]);
  });

  it('keeps every checkpoint, each consistent with the later ones', async () => {
    const sizes = (await db('SELECT tree_size FROM ledger_checkpoints ORDER BY tree_size')).map((row) =>
      Number(row.tree_size),
    );
    expect(sizes.length).toBeGreaterThanOrEqual(2);
    const latest = (await get('/ledger/checkpoint')).body.data;
    expect(latest.treeSize).toBe(sizes[sizes.length - 1]);
    for (const from of sizes) {
      const first = (await get(`/ledger/checkpoint?treeSize=${from}`)).body.data;
      const res = await get(`/ledger/consistency?from=${from}`);
      expect(res.status).toBe(200);
      expect(res.body.data.to).toBe(latest.treeSize);
      const ok = verifyConsistency(
        from,
        latest.treeSize,
        res.body.data.proof.map(b64),
        b64(first.rootHash),
        b64(latest.rootHash),
      );
      expect(ok).toBe(true);
    }
  });

  it('refuses bad ranges and sizes with 400 or 404, and keeps leaves and verify for ADMINs', async () => {
    const size = (await get('/ledger/checkpoint')).body.data.treeSize;
    expect((await get('/ledger/consistency?from=0')).status).toBe(400);
    expect((await get(`/ledger/consistency?from=${size + 1}`)).status).toBe(400);
    expect((await get(`/ledger/consistency?from=2&to=1`)).status).toBe(400);
    expect((await get('/ledger/consistency?from=abc')).status).toBe(400);
    expect((await get('/ledger/consistency')).status).toBe(400);
    expect((await get(`/ledger/checkpoint?treeSize=${size + 1000}`)).status).toBe(404);
    expect((await get('/ledger/checkpoint?treeSize=-1')).status).toBe(400);
    expect((await get('/ledger/leaves?start=0&end=1001', admin.accessToken)).status).toBe(400);
    expect((await get('/ledger/leaves?start=5&end=5', admin.accessToken)).status).toBe(400);
    expect((await get('/ledger/leaves?start=0&end=10', user.accessToken)).status).toBe(403);
    expect((await get('/ledger/leaves?start=0&end=10')).status).toBe(401);
    expect((await get('/ledger/verify', user.accessToken)).status).toBe(403);
    const leaves = await get('/ledger/leaves?start=0&end=1000', admin.accessToken);
    expect(leaves.status).toBe(200);
    expect(leaves.body.data).toHaveLength(Math.min(size, 1000));
    leaves.body.data.forEach((leaf: any, index: number) => {
      expect(leaf.leafIndex).toBe(index);
      expect(leafHash(leaf.leaf).toString('base64')).toBe(leaf.leafHash);
      expect(JSON.parse(leaf.leaf).kind).toBe(leaf.kind);
      expect(JSON.parse(leaf.leaf).id).toBe(leaf.recordId);
    });
    const mine = await createActivity(user, {}, t.baseUrl);
    await integrate();
    expect((await get(`/activities/${mine.id}/proof`, other.accessToken)).status).toBe(403);
    expect((await get(`/activities/${mine.id}/proof`)).status).toBe(401);
    expect((await get(`/activities/999999999/proof`, admin.accessToken)).status).toBe(404);
    expect((await get(`/audit-logs/1/proof`, user.accessToken)).status).toBe(403);
    // A checkpoint from before the activity was recorded cannot prove it.
    const [first] = await db('SELECT min(tree_size) AS size FROM ledger_checkpoints');
    expect((await get(`/activities/${mine.id}/proof?treeSize=${first.size}`, user.accessToken)).status).toBe(400);
  });

  it('keeps the leaves of records that retention removes, and the proofs of the records it keeps', async () => {
    const old = await createActivity(user, { action: 'ANCIENT', timestamp: '2020-01-15T10:00:00.000Z' }, t.baseUrl);
    const kept = await createActivity(user, { action: 'RECENT' }, t.baseUrl);
    await integrate();
    const oldIndex = Number(
      (await db(`SELECT leaf_index FROM ledger_leaves WHERE kind = 'activity' AND record_id = $1`, [old.id]))[0]
        .leaf_index,
    );
    const report = await t.app.get(RetentionService).removeOlderThan(new Date(Date.now() - 365 * 86400_000));
    expect(report.activities.rows).toBeGreaterThanOrEqual(1);
    expect(await db('SELECT 1 FROM activities WHERE id = $1', [old.id])).toEqual([]);
    await integrate();

    expect((await get(`/activities/${old.id}/proof`, user.accessToken)).status).toBe(404);
    const leaf = await get(`/ledger/leaves?start=${oldIndex}&end=${oldIndex + 1}`, admin.accessToken);
    expect(leaf.body.data).toEqual([expect.objectContaining({ leafIndex: oldIndex, recordId: old.id })]);
    const proof = await get(`/activities/${kept.id}/proof`, user.accessToken);
    expect(proof.status).toBe(200);
    checkProof(proof.body.data, verifierKey);
    // The retention entry names what went (activities dated before olderThan), so the removed one is not missing.
    const [entry] = await db(
      `SELECT new_values FROM audit_logs WHERE action = 'RETENTION' AND entity_type = 'ActivityLog' ORDER BY id DESC LIMIT 1`,
    );
    expect(new Date(entry.new_values.olderThan) > new Date(old.timestamp)).toBe(true);
    const result = await verify();
    expect(result).toEqual({ valid: true, treeSize: expect.any(Number), checked: result.treeSize, problems: [] });
  });

  describe('an insider with write access to the database', () => {
    let activities: any[];
    let cleanSize: number;

    beforeAll(async () => {
      const res = await http(
        '/api/v1/activities/batch',
        {
          method: 'POST',
          token: user.accessToken,
          body: { items: Array.from({ length: 20 }, (_, i) => ({ action: 'LOGIN', metadata: { n: i } })) },
        },
        t.baseUrl,
      );
      activities = res.body.data;
      await integrate();
      const clean = await verify();
      expect(clean).toEqual({ valid: true, treeSize: expect.any(Number), checked: clean.treeSize, problems: [] });
      cleanSize = clean.treeSize;
    });

    const leafIndexOf = async (kind: string, id: number) =>
      Number(
        (await db('SELECT leaf_index FROM ledger_leaves WHERE kind = $1 AND record_id = $2', [kind, id]))[0].leaf_index,
      );

    it('is caught rewriting an activity, or its status, behind the application', async () => {
      await db(`UPDATE activities SET metadata = '{"n": 999}' WHERE id = $1`, [activities[0].id]);
      await db(`UPDATE activities SET status = 'FAILED' WHERE id = $1`, [activities[1].id]);
      const result = await verify();
      expect(result.valid).toBe(false);
      expect(result.problems).toEqual(
        expect.arrayContaining([
          {
            leafIndex: await leafIndexOf('activity', activities[0].id),
            kind: 'activity',
            recordId: activities[0].id,
            problem: 'altered',
          },
          {
            leafIndex: await leafIndexOf('activity', activities[1].id),
            kind: 'activity',
            recordId: activities[1].id,
            problem: 'altered',
          },
        ]),
      );
    });

    it('is caught rewriting an audit entry even with the hash chain recomputed, which /audit-logs/verify misses', async () => {
      const [target] = await db(
        `SELECT id FROM audit_logs WHERE entity_type = 'User' AND action = 'CREATE' ORDER BY id LIMIT 1`,
      );
      await db(`
        BEGIN;
        ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_append_only;
        UPDATE audit_logs SET new_values = jsonb_set(new_values, '{email}', '"forged@example.com"') WHERE id = ${Number(target.id)};
        DO $$
        DECLARE
          entry record;
          previous char(64);
        BEGIN
          SELECT hash INTO previous FROM audit_logs WHERE id < ${Number(target.id)} ORDER BY id DESC LIMIT 1;
          previous := coalesce(previous, repeat('0', 64));
          FOR entry IN SELECT id FROM audit_logs WHERE id >= ${Number(target.id)} ORDER BY id LOOP
            UPDATE audit_logs SET prev_hash = previous WHERE id = entry.id;
            UPDATE audit_logs a SET hash = audit_log_hash(a) WHERE id = entry.id RETURNING hash INTO previous;
          END LOOP;
          UPDATE audit_chain_head SET last_hash = previous, last_id = (SELECT max(id) FROM audit_logs);
        END $$;
        ALTER TABLE audit_logs ENABLE TRIGGER audit_logs_append_only;
        COMMIT;`);
      const chain = await get('/audit-logs/verify', admin.accessToken);
      expect(chain.body.data.valid).toBe(true);
      const result = await verify();
      expect(result.problems).toContainEqual({
        leafIndex: await leafIndexOf('audit', Number(target.id)),
        kind: 'audit',
        recordId: Number(target.id),
        problem: 'altered',
      });
    });

    it('is caught deleting two neighbouring activities together', async () => {
      const [a, b] = [activities[5], activities[6]];
      const indexes = [await leafIndexOf('activity', a.id), await leafIndexOf('activity', b.id)];
      await db('DELETE FROM activities WHERE id = ANY($1)', [[a.id, b.id]]);
      const result = await verify();
      expect(result.problems).toEqual(
        expect.arrayContaining([
          { leafIndex: indexes[0], kind: 'activity', recordId: a.id, problem: 'missing' },
          { leafIndex: indexes[1], kind: 'activity', recordId: b.id, problem: 'missing' },
        ]),
      );
    });

    it('is caught rewriting the ledger’s own leaf to match a rewritten record', async () => {
      const victim = activities[10];
      const index = await leafIndexOf('activity', victim.id);
      const [row] = await db('SELECT leaf FROM ledger_leaves WHERE leaf_index = $1', [index]);
      const forged = row.leaf.replace('"action":"LOGIN"', '"action":"LOGOUT"');
      await db(`
        BEGIN;
        UPDATE activities SET action = 'LOGOUT' WHERE id = ${Number(victim.id)};
        ALTER TABLE ledger_leaves DISABLE TRIGGER ledger_leaves_append_only;
        UPDATE ledger_leaves SET leaf = $$${forged}$$, leaf_hash = sha256('\\x00'::bytea || convert_to($$${forged}$$, 'UTF8'))
         WHERE leaf_index = ${index};
        ALTER TABLE ledger_leaves ENABLE TRIGGER ledger_leaves_append_only;
        COMMIT;`);
      const result = await verify();
      // The record now matches its leaf, but the tree no longer matches the signed roots from there on.
      expect(result.problems).not.toContainEqual(expect.objectContaining({ recordId: victim.id, kind: 'activity' }));
      const roots = result.problems.filter((problem: any) => problem.kind === 'checkpoint');
      expect(roots.length).toBeGreaterThan(0);
      expect(roots.every((problem: any) => problem.problem === 'root' && problem.leafIndex === null)).toBe(true);
      expect(roots.every((problem: any) => problem.recordId > index)).toBe(true);
      expect(roots.map((problem: any) => problem.recordId)).toContain(cleanSize);
    });

    it('is caught by a monitor holding an older checkpoint when the whole ledger is rebuilt and signed with the key', async () => {
      const state = join(mkdtempSync(join(tmpdir(), 'logbook-monitor-')), 'state.json');
      const monitor = async () => {
        const lines: string[] = [];
        const code = await runLedgerMonitor(
          ['--url', t.baseUrl, '--verifier-key', verifierKey, '--state', state],
          (line) => lines.push(line),
        );
        return { code, output: lines.join('\n') };
      };
      expect((await monitor()).code).toBe(0);
      const kept = readFileSync(state, 'utf8');

      // Whoever holds the key and the database: a new ledger over the records as they are now (the rewritten and
      // the deleted ones above included), signed with the service's own key, and grown past the kept size.
      await db(`
        BEGIN;
        ALTER TABLE ledger_leaves DISABLE TRIGGER ledger_leaves_append_only;
        ALTER TABLE ledger_nodes DISABLE TRIGGER ledger_nodes_append_only;
        ALTER TABLE ledger_checkpoints DISABLE TRIGGER ledger_checkpoints_append_only;
        DELETE FROM ledger_leaves; DELETE FROM ledger_nodes; DELETE FROM ledger_checkpoints; DELETE FROM ledger_pending;
        UPDATE ledger_state SET tree_size = 0, frontier = ''::bytea;
        INSERT INTO ledger_pending (kind, record_id, recorded_at, status)
          SELECT 'activity', id, timestamp, status FROM activities ORDER BY id;
        INSERT INTO ledger_pending (kind, record_id, recorded_at) SELECT 'audit', id, created_at FROM audit_logs ORDER BY id;
        ALTER TABLE ledger_leaves ENABLE TRIGGER ledger_leaves_append_only;
        ALTER TABLE ledger_nodes ENABLE TRIGGER ledger_nodes_append_only;
        ALTER TABLE ledger_checkpoints ENABLE TRIGGER ledger_checkpoints_append_only;
        COMMIT;`);
      for (let i = 0; i < 30; i += 1) await createActivity(user, {}, t.baseUrl);
      await integrate();
      const rebuilt = (await get('/ledger/checkpoint')).body.data;
      expect(openNote(rebuilt.note, parseVerifierKey(verifierKey))).toBeDefined();
      const keptText = openNote(JSON.parse(kept).note, parseVerifierKey(verifierKey))!;
      expect(rebuilt.treeSize).toBeGreaterThan(parseCheckpointText(keptText)!.treeSize);

      const caught = await monitor();
      expect(caught.code).toBe(1);
      expect(caught.output).toMatch(/FAIL: the history was rewritten/);
      expect(readFileSync(state, 'utf8')).toBe(kept);
    });

    it('is caught signing a checkpoint with another key', async () => {
      // The service's own integrator, with another key: what someone who swapped the key (or signs elsewhere) makes.
      const intruder = new LedgerIntegrator(
        t.app.get(LedgerRepository),
        t.app.get(Transactions),
        new LedgerKey('logbook.test/ledger', generateKeyPairSync('ed25519').privateKey),
        t.app.get(Settings),
        t.app.get(WebhookOutbox),
      );
      await createActivity(user, {}, t.baseUrl);
      expect(await intruder.integrateBatch()).toBe(1);
      const latest = (await get('/ledger/checkpoint')).body.data;
      expect(openNote(latest.note, parseVerifierKey(verifierKey))).toBeUndefined();
      const result = await verify();
      expect(result.problems).toContainEqual({
        leafIndex: null,
        kind: 'checkpoint',
        recordId: latest.treeSize,
        problem: 'unsigned',
      });
    });
  });
});
