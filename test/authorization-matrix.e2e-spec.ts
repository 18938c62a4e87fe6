import { randomUUID } from 'node:crypto';
import { createActivity } from './helpers/activities';
import { createUser, signIn, sql, TestUser } from './helpers/factories';
import { http, HttpResponse } from './helpers/http';
import { changedTables, describeChanges, Fingerprinter, IsolatedApp, startIsolatedApp } from './helpers/hostile';
import { DocumentedOperation, documentedOperations, exampleOf } from './helpers/operations';
import { LedgerIntegrator } from '../src/modules/ledger/ledger-integrator.service';

/*
 * Who may call what, for every operation of openapi.json. Users A and B (PARTICIPANT), an INSTRUCTOR and an ADMIN:
 * every route that names another user's data by an id (in the path or the query) is 403 or 404 for B and the
 * INSTRUCTOR, with none of A's data in the answer; every ADMIN route is 403 for the PARTICIPANT and the INSTRUCTOR;
 * none of those refusals changes a row (a fingerprint of every table, on a database of this file's own). Each
 * refusal has its control: the owner and the ADMIN are let through. An operation missing from RULES fails the run,
 * so a new route cannot slip through unclassified.
 */

type Rule =
  /** No token needed (sign-up, sign-in, refresh, health): nothing of anyone's to protect by an id. */
  | 'public'
  /** The caller's own data, named by no id of the path (its lists, its account, its new activities). */
  | 'own'
  /** One item by its id: its owner or an ADMIN, others 403 or 404. */
  | 'owner-or-admin'
  /** ADMIN only: 403 for everyone else. */
  | 'admin';

const RULES: Record<string, Rule> = {
  'GET /health': 'public',
  'POST /api/v1/auth/register': 'public',
  'POST /api/v1/auth/login': 'public',
  'POST /api/v1/auth/refresh': 'public',
  'POST /api/v1/auth/logout': 'own',
  'POST /api/v1/auth/change-password': 'own',
  'GET /api/v1/auth/me': 'own',
  'GET /api/v1/users': 'admin',
  'GET /api/v1/users/{id}': 'owner-or-admin',
  'PATCH /api/v1/users/{id}': 'admin',
  'DELETE /api/v1/users/{id}': 'admin',
  'POST /api/v1/users/{id}/restore': 'admin',
  'GET /api/v1/audit-logs': 'admin',
  'GET /api/v1/audit-logs/verify': 'admin',
  'GET /api/v1/audit-logs/{id}': 'admin',
  'POST /api/v1/activities': 'own',
  'GET /api/v1/activities': 'own',
  'POST /api/v1/activities/batch': 'own',
  'GET /api/v1/activities/export': 'own',
  'GET /api/v1/activities/{id}': 'owner-or-admin',
  'PATCH /api/v1/activities/{id}': 'owner-or-admin',
  'DELETE /api/v1/activities/{id}': 'owner-or-admin',
  'PATCH /api/v1/activities/{id}/status': 'owner-or-admin',
  'POST /api/v1/activities/{id}/restore': 'owner-or-admin',
  'GET /api/v1/users/{userId}/activities': 'owner-or-admin',
  'GET /api/v1/ledger/public-key': 'public',
  'GET /api/v1/ledger/checkpoint': 'public',
  'GET /api/v1/ledger/consistency': 'public',
  'GET /api/v1/ledger/leaves': 'admin',
  'GET /api/v1/ledger/verify': 'admin',
  'GET /api/v1/activities/{id}/proof': 'owner-or-admin',
  'GET /api/v1/audit-logs/{id}/proof': 'admin',
  'POST /api/v1/api-keys': 'own',
  'GET /api/v1/api-keys': 'own',
  'GET /api/v1/api-keys/{id}': 'owner-or-admin',
  'DELETE /api/v1/api-keys/{id}': 'owner-or-admin',
  'POST /api/v1/webhooks': 'admin',
  'GET /api/v1/webhooks': 'admin',
  'GET /api/v1/webhooks/{id}': 'admin',
  'PATCH /api/v1/webhooks/{id}': 'admin',
  'DELETE /api/v1/webhooks/{id}': 'admin',
  'POST /api/v1/webhooks/{id}/rotate-secret': 'admin',
  'POST /api/v1/webhooks/{id}/test': 'admin',
  'GET /api/v1/webhooks/{id}/deliveries': 'admin',
  'POST /api/v1/webhooks/{id}/replay': 'admin',
};

/** The scopes an API key may hold. */
const SCOPES = ['activities:read', 'activities:write', 'audit:read'] as const;

/** Required query parameters of the operations that have some, as a let-through request sends them. */
const REQUIRED_QUERIES: Record<string, string> = {
  'GET /api/v1/ledger/leaves': 'start=0&end=10',
};

const OPERATIONS = documentedOperations();
const withRule = (rule: Rule) => OPERATIONS.filter((op) => RULES[op.key] === rule);
/** A parameter named like an id: `id`, `userId`, `user_id`, `entity_id`, `targetId`, ... */
const ID_PARAM = /(^|_)id$|Id$/;
/**
 * The query parameters named like ids: those that choose whose data is read (another user's: 403), and those that
 * only filter the caller's own (an activity's target is the client's free text).
 */
const QUERY_IDS: Record<string, 'whose' | 'filter'> = {
  userId: 'whose',
  user_id: 'whose',
  entity_id: 'whose',
  targetId: 'filter',
  actorId: 'filter',
};
const queryIds = (op: DocumentedOperation) => op.query.filter((param) => QUERY_IDS[param.name] === 'whose');
const readOnly = (op: DocumentedOperation) => op.method === 'GET';

interface Owner {
  user: TestUser;
  /** Markers that appear in the owner's data and nowhere else. */
  secrets: string[];
  liveActivity: number;
  deletedActivity: number;
  auditEntry: number;
  apiKey: number;
  /** A webhook endpoint an ADMIN made beside the owner's data (endpoints belong to no user). */
  webhook: number;
}

describe('authorization matrix over every operation of openapi.json', () => {
  let app: IsolatedApp;
  let db: Fingerprinter;
  let a: Owner;
  let b: TestUser;
  let instructor: TestUser;
  let admin: TestUser;
  const counts = { denied: 0, allowed: 0 };

  /** Adds what waits to the ledger now (proofs need their record in the tree). */
  const integrate = () => app.app.get(LedgerIntegrator).drain();

  const withRole = async (role: TestUser['role']) => {
    const user = await createUser({ name: `Matrix ${role}` }, app.baseUrl);
    await sql('UPDATE users SET role = $2 WHERE id = $1', [user.id, role], app.databaseUrl);
    return signIn(user.email, user.password, app.baseUrl);
  };

  /** An owner with a live and a deleted activity carrying secrets, and an audit entry about it. */
  const makeOwner = async (): Promise<Owner> => {
    const secret = `secret-${randomUUID()}`;
    const user = await createUser({ name: `Owner ${secret}` }, app.baseUrl);
    const live = await createActivity(
      user,
      { action: `MATRIX_${secret}`, metadata: { secret }, context: { description: secret } },
      app.baseUrl,
    );
    const deleted = await createActivity(user, { action: `MATRIX_DELETED_${secret}` }, app.baseUrl);
    const res = await http(
      `/api/v1/activities/${deleted.id}`,
      { method: 'DELETE', token: user.accessToken },
      app.baseUrl,
    );
    expect(res.status).toBe(200);
    const [entry] = await sql<{ id: string }>(
      `SELECT id FROM audit_logs WHERE entity_type = 'User' AND entity_id = $1 ORDER BY id LIMIT 1`,
      [String(user.id)],
      app.databaseUrl,
    );
    const key = await http(
      '/api/v1/api-keys',
      { method: 'POST', token: user.accessToken, body: { name: `key ${secret}`, scopes: ['activities:read'] } },
      app.baseUrl,
    );
    expect(key.status).toBe(201);
    const webhook = await http(
      '/api/v1/webhooks',
      { method: 'POST', token: admin.accessToken, body: { url: 'http://127.0.0.1:9/matrix', events: ['*'] } },
      app.baseUrl,
    );
    expect(webhook.status).toBe(201);
    return {
      user,
      secrets: [secret, user.email],
      liveActivity: live.id,
      deletedActivity: deleted.id,
      auditEntry: Number(entry.id),
      apiKey: key.body.data.id,
      webhook: webhook.body.data.id,
    };
  };

  /** The requests that name the owner's data through an operation: one per kind of id it takes. */
  function targeting(op: DocumentedOperation, owner: Owner): { path: string; note: string }[] {
    const ids: Record<string, number[]> = {
      users: [owner.user.id],
      activities: [owner.liveActivity, owner.deletedActivity],
      'audit-logs': [owner.auditEntry],
      'api-keys': [owner.apiKey],
      webhooks: [owner.webhook],
    };
    let paths = [op.template];
    for (const param of op.path) {
      const collection = op.collections[param.name];
      if (!collection) throw new Error(`${op.key}: no collection for path parameter ${param.name}`);
      paths = paths.flatMap((path) => ids[collection].map((id) => path.replace(`{${param.name}}`, String(id))));
    }
    const queries = queryIds(op).map((param) => `${param.name}=${owner.user.id}`);
    return paths.flatMap((path) => [
      ...(op.path.length ? [{ path, note: 'its id in the path' }] : []),
      ...queries.map((query) => ({ path: `${path}?${query}`, note: `${query.split('=')[0]} in the query` })),
      ...(op.path.length === 0 && queries.length === 0 ? [{ path, note: 'no id' }] : []),
    ]);
  }

  /** A caller signed in with an API key of one scope (an ADMIN's, so that only the scope decides). */
  interface KeyCaller {
    role: string;
    apiKey: string;
  }

  const call = (op: DocumentedOperation, path: string, caller: TestUser | KeyCaller): Promise<HttpResponse> =>
    http(
      REQUIRED_QUERIES[op.key] ? `${path}${path.includes('?') ? '&' : '?'}${REQUIRED_QUERIES[op.key]}` : path,
      {
        method: op.method,
        ...('apiKey' in caller ? { headers: { 'x-api-key': caller.apiKey } } : { token: caller.accessToken }),
        body: op.body ? exampleOf(op.body) : undefined,
      },
      app.baseUrl,
    );

  /** A refused request: the expected status, the envelope, none of the owner's data, and no row changed. */
  async function expectRefused(
    op: DocumentedOperation,
    path: string,
    caller: TestUser | KeyCaller,
    statuses: number[],
    owner: Owner,
  ): Promise<void> {
    const label = `${caller.role} ${op.method} ${path}`;
    const before = await db.take();
    const res = await call(op, path, caller);
    const after = await db.take();
    counts.denied += 1;
    expect([label, statuses.includes(res.status)]).toEqual([label, true]);
    expect([label, res.body?.success, res.body?.error?.code]).toEqual([label, false, `HTTP_${res.status}`]);
    for (const secret of owner.secrets) expect([label, res.text.includes(secret)]).toEqual([label, false]);
    const changed = changedTables(before, after);
    expect([label, describeChanges(before, after, changed)]).toEqual([label, '']);
  }

  beforeAll(async () => {
    app = await startIsolatedApp('authz');
    db = await Fingerprinter.open(app.databaseUrl);
    admin = await withRole('ADMIN');
    a = await makeOwner();
    b = await createUser({ name: 'Matrix B' }, app.baseUrl);
    await createActivity(b, { action: 'B_OWN' }, app.baseUrl);
    instructor = await withRole('INSTRUCTOR');
  });

  afterAll(async () => {
    console.log(
      `authorization matrix: ${OPERATIONS.length} operations (${(['public', 'own', 'owner-or-admin', 'admin'] as Rule[])
        .map((rule) => `${withRule(rule).length} ${rule}`)
        .join(', ')}); ${counts.denied} refusals checked, ${counts.allowed} allowed controls`,
    );
    await db?.close();
    await app?.close();
  });

  it('classifies every operation of openapi.json, and only those', () => {
    expect(OPERATIONS.filter((op) => !RULES[op.key]).map((op) => op.key)).toEqual([]);
    expect(Object.keys(RULES).filter((key) => !OPERATIONS.some((op) => op.key === key))).toEqual([]);
    const unclassified = OPERATIONS.flatMap((op) =>
      op.query.filter((param) => ID_PARAM.test(param.name) && !QUERY_IDS[param.name]).map((param) => param.name),
    );
    expect(unclassified).toEqual([]);
    // Every operation that takes an id in its path names whose data it is.
    for (const op of OPERATIONS.filter((item) => item.path.length)) {
      expect([op.key, RULES[op.key]]).toEqual([op.key, expect.stringMatching(/^(owner-or-admin|admin)$/)]);
    }
  });

  const ownerOrAdmin = withRule('owner-or-admin').map((op) => [op.key, op] as const);
  it.each(ownerOrAdmin)(
    '%s: another user’s ids are 403 or 404 for B and the INSTRUCTOR, never the data',
    async (_, op) => {
      const requests = targeting(op, a);
      expect(requests.length).toBeGreaterThan(0);
      for (const { path } of requests) {
        for (const caller of [b, instructor]) await expectRefused(op, path, caller, [403, 404], a);
      }
    },
  );

  const adminOnly = withRule('admin').map((op) => [op.key, op] as const);
  it.each(adminOnly)('%s: 403 for the PARTICIPANT and the INSTRUCTOR, changing nothing', async (_, op) => {
    for (const { path } of targeting(op, a)) {
      for (const caller of [a.user, b, instructor]) await expectRefused(op, path, caller, [403], a);
    }
  });

  const ownWithIds = withRule('own')
    .filter((op) => queryIds(op).length)
    .map((op) => [op.key, op] as const);
  it.each(ownWithIds)('%s: another user’s id in the query is 403 for B and the INSTRUCTOR', async (_, op) => {
    for (const { path } of targeting(op, a)) {
      for (const caller of [b, instructor]) await expectRefused(op, path, caller, [403], a);
    }
  });

  const ownReads = withRule('own')
    .filter(readOnly)
    .map((op) => [op.key, op] as const);
  it.each(ownReads)('%s: answers B with B’s own data only', async (_, op) => {
    const res = await call(op, op.template, b);
    counts.allowed += 1;
    expect(res.status).toBe(200);
    for (const secret of a.secrets) expect(res.text.includes(secret)).toBe(false);
  });

  // The controls: the same requests are let through for the owner and for an ADMIN, each on data of its own,
  // so that the refusals above are about the caller and not about the request.
  it.each(ownerOrAdmin)('%s: the owner and an ADMIN are let through', async (_, op) => {
    for (const caller of ['owner', 'admin'] as const) {
      const owner = await makeOwner();
      await integrate();
      const who = caller === 'owner' ? owner.user : admin;
      const [{ path }] = targeting(op, owner);
      const res = await call(op, path, who);
      counts.allowed += 1;
      expect([caller, path, res.status]).toEqual([caller, path, 200]);
    }
  });

  it.each(adminOnly)('%s: an ADMIN is let through', async (_, op) => {
    const owner = await makeOwner();
    await integrate();
    const [{ path }] = targeting(op, owner);
    const res = await call(op, path, admin);
    counts.allowed += 1;
    expect([path, res.status]).toEqual([path, op.statuses.find((status) => status === 201 || status === 202) ?? 200]);
  });

  // API keys, over every operation that takes a credential: a key of each scope (an ADMIN's, so that the scope alone
  // decides) is refused every operation that does not name its scope in openapi.json, and let through those that do.
  const keys = {} as Record<(typeof SCOPES)[number], KeyCaller>;
  const keyFor = async (scope: (typeof SCOPES)[number]): Promise<KeyCaller> => {
    if (keys[scope]) return keys[scope];
    const res = await http(
      '/api/v1/api-keys',
      { method: 'POST', token: admin.accessToken, body: { name: `matrix ${scope}`, scopes: [scope] } },
      app.baseUrl,
    );
    expect(res.status).toBe(201);
    const caller = { role: `key ${scope}`, apiKey: res.body.data.key as string };
    // A key's first use notes `lastUsedAt` (then not again for a minute): done here, before any fingerprint.
    await http('/api/v1/activities', { headers: { 'x-api-key': caller.apiKey } }, app.baseUrl);
    for (let tries = 0; tries < 100; tries++) {
      const [row] = await sql('SELECT last_used_at FROM api_keys WHERE id = $1', [res.body.data.id], app.databaseUrl);
      if (row.last_used_at) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    keys[scope] = caller;
    return caller;
  };

  const withCredential = OPERATIONS.filter((op) => RULES[op.key] !== 'public').map((op) => [op.key, op] as const);
  it.each(withCredential)('%s: a key of another scope is 403, changing nothing', async (_, op) => {
    const owner = await makeOwner();
    await integrate();
    const [{ path }] = targeting(op, owner);
    const others = SCOPES.filter((scope) => scope !== op.keyScope);
    expect(others.length).toBeGreaterThanOrEqual(2);
    for (const scope of others) await expectRefused(op, path, await keyFor(scope), [403], owner);
  });

  const scoped = OPERATIONS.filter((op) => op.keyScope).map((op) => [op.key, op] as const);
  it.each(scoped)('%s: a key with the scope it names is let through', async (_, op) => {
    expect(SCOPES).toContain(op.keyScope);
    const owner = await makeOwner();
    await integrate();
    const [{ path }] = targeting(op, owner);
    const res = await call(op, path, await keyFor(op.keyScope as (typeof SCOPES)[number]));
    counts.allowed += 1;
    expect([path, res.status]).toEqual([path, op.method === 'POST' && !op.path.length ? 201 : 200]);
  });

  it('names a scope on every operation a key may call, and on none that manages keys, users or sign-in', () => {
    const scopedKeys = OPERATIONS.filter((op) => op.keyScope).map((op) => op.key);
    expect(
      scopedKeys.filter((key) =>
        /\/(api-keys|auth|webhooks)(\/|$)|\/users(\/\{id\}(\/restore)?)?$/.test(key.split(' ')[1]),
      ),
    ).toEqual([]);
    expect(scopedKeys.length).toBeGreaterThanOrEqual(15);
  });
});
