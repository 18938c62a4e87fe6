import {
  fromBase64,
  InclusionProof,
  LedgerKey,
  leafHash,
  noteSignedBy,
  rootFromInclusionProof,
  verifyInclusion,
} from '../console/src/evidence/verify';
import { LedgerIntegrator } from '../src/modules/ledger/ledger-integrator.service';
import { leafHash as serverLeafHash, verifyInclusion as serverVerifyInclusion } from '../src/modules/ledger/merkle';
import { createActivity } from './helpers/activities';
import { startTestApp, TestApp } from './helpers/app';
import { createAdmin, createUser, sql, TestUser } from './helpers/factories';
import { http } from './helpers/http';

const API = '/api/v1';

/**
 * The console's verifier (console/src/evidence/verify.ts, which runs in the browser on its Web Crypto), here on
 * Node's Web Crypto, against the proofs Logbook serves: every check holds for a real record, and each fails when
 * what it covers is altered. The browser test runs the same code in Chromium.
 */
describe("the console's ledger verifier", () => {
  let other: TestApp;
  let user: TestUser;
  let key: LedgerKey;

  beforeAll(async () => {
    // An instance on the test database whose integrator the test drives (the shared app's waits a minute).
    other = await startTestApp();
    user = await createUser();
    key = (await http(`${API}/ledger/public-key`)).body.data;
  });
  afterAll(() => other?.close());

  const proofOf = async (path: string, token: string): Promise<InclusionProof> => {
    await other.app.get(LedgerIntegrator).drain();
    const answer = await http(`${API}${path}`, { token });
    expect(answer.status).toBe(200);
    return answer.body.data;
  };

  it('verifies a real activity, after a status change too (its leaf is the activity as created)', async () => {
    const activity = await createActivity(user, { action: 'VERIFY_ME', metadata: { n: 1, nested: { a: [1, 2] } } });
    const proof = await proofOf(`/activities/${activity.id}/proof`, user.accessToken);
    expect(await verifyInclusion('activity', activity, proof, key)).toEqual(
      ['leaf', 'record', 'proof', 'note', 'signature'].map((name) => ({ name, ok: true })),
    );
    // The same leaf hash and root as the server's own Merkle code computes.
    expect(Buffer.from(await leafHash(proof.leaf)).toString('base64')).toBe(
      serverLeafHash(proof.leaf).toString('base64'),
    );
    expect(
      serverVerifyInclusion(
        serverLeafHash(proof.leaf),
        proof.leafIndex,
        proof.treeSize,
        proof.proof.map((hash) => Buffer.from(hash, 'base64')),
        Buffer.from(proof.checkpoint.rootHash, 'base64'),
      ),
    ).toBe(true);

    const changed = (
      await http(`${API}/activities/${activity.id}/status`, {
        method: 'PATCH',
        token: user.accessToken,
        body: { status: 'DONE' },
      })
    ).body.data;
    const again = await proofOf(`/activities/${activity.id}/proof`, user.accessToken);
    expect((await verifyInclusion('activity', changed, again, key)).every((check) => check.ok)).toBe(true);
  });

  it('fails the record check when the record was altered behind the service', async () => {
    const activity = await createActivity(user, { action: 'UNTOUCHED', metadata: { amount: 10 } });
    // Its leaf is made when it is integrated (from the record as it is then): first that, then the alteration.
    await other.app.get(LedgerIntegrator).drain();
    await sql(`UPDATE activities SET metadata = '{"amount": 1000}' WHERE id = $1`, [activity.id]);
    const altered = (await http(`${API}/activities/${activity.id}`, { token: user.accessToken })).body.data;
    expect(altered.metadata).toEqual({ amount: 1000 });
    const proof = await proofOf(`/activities/${activity.id}/proof`, user.accessToken);
    const checks = await verifyInclusion('activity', altered, proof, key);
    expect(checks.filter((check) => !check.ok).map((check) => check.name)).toEqual(['record']);
  });

  it('fails the proof, the leaf and the signature checks when each is forged', async () => {
    const activity = await createActivity(user, { action: 'FORGED' });
    // A few more leaves, so that the proof has hashes to alter.
    for (let i = 0; i < 3; i += 1) await createActivity(user, { action: 'FILLER' });
    const proof = await proofOf(`/activities/${activity.id}/proof`, user.accessToken);
    expect(proof.proof.length).toBeGreaterThan(0);
    const failing = async (forged: InclusionProof, record: Record<string, unknown> = activity) =>
      (await verifyInclusion('activity', record, forged, key)).filter((check) => !check.ok).map((check) => check.name);

    const flipped = (hash: string) => {
      const bytes = Buffer.from(hash, 'base64');
      bytes[0] ^= 1;
      return bytes.toString('base64');
    };
    expect(await failing({ ...proof, proof: [flipped(proof.proof[0]), ...proof.proof.slice(1)] })).toEqual(['proof']);
    expect(await failing({ ...proof, leafIndex: proof.leafIndex + 1 })).toContain('proof');
    // A leaf that says something else: its hash no longer matches, nor the record, nor the proof.
    const otherLeaf = proof.leaf.replace('"FORGED"', '"FORGEd"');
    expect(await failing({ ...proof, leaf: otherLeaf }, { ...activity, action: 'FORGEd' })).toEqual(['leaf', 'proof']);
    // A checkpoint whose root was changed: the proof no longer leads to it, nor its signature holds.
    const root = flipped(proof.checkpoint.rootHash);
    const note = proof.checkpoint.note.replace(proof.checkpoint.rootHash, root);
    expect(await failing({ ...proof, checkpoint: { ...proof.checkpoint, rootHash: root, note } })).toEqual([
      'proof',
      'signature',
    ]);
    // Another key: the signature does not hold.
    const { publicKey } = (await import('node:crypto')).generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
    expect(await noteSignedBy(proof.checkpoint.note, { ...key, publicKey: raw })).toBe(false);
    expect(await noteSignedBy(proof.checkpoint.note, key)).toBe(true);
  });

  it('verifies an audit entry for an ADMIN', async () => {
    const admin = await createAdmin();
    const entry = (await http(`${API}/audit-logs?limit=1`, { token: admin.accessToken })).body.data[0];
    const proof = await proofOf(`/audit-logs/${entry.id}/proof`, admin.accessToken);
    expect((await verifyInclusion('audit', entry, proof, key)).every((check) => check.ok)).toBe(true);
    expect(
      (await verifyInclusion('audit', { ...entry, action: 'DELETE' }, proof, key)).find((c) => c.name === 'record'),
    ).toEqual({ name: 'record', ok: false });
  });

  it('computes the RFC 9162 root of a one-leaf tree as the leaf hash itself', async () => {
    const hash = await leafHash('x');
    expect(await rootFromInclusionProof(0, 1, hash, [])).toEqual(hash);
    expect(await rootFromInclusionProof(1, 1, hash, [])).toBeNull();
    expect(await rootFromInclusionProof(0, 2, hash, [])).toBeNull();
    expect(fromBase64('AAE=')).toEqual(new Uint8Array([0, 1]));
  });
});
