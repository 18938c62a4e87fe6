import { auditEntriesFor, createAdmin, createUser, signIn, TestUser, uniqueEmail } from './helpers/factories';
import { http } from './helpers/http';

const me = (user: TestUser) => http('/api/v1/auth/me', { token: user.accessToken });

describe('users', () => {
  let admin: TestUser;

  beforeAll(async () => {
    admin = await createAdmin();
  });

  describe('GET /users', () => {
    it('lists users for an ADMIN with page meta, and refuses others with 403', async () => {
      await Promise.all([createUser(), createUser(), createUser()]);
      const res = await http('/api/v1/users?limit=2', { token: admin.accessToken });
      expect(res.status).toBe(200);
      expect(res.body.data).toHaveLength(2);
      expect(res.body.meta).toEqual({
        totalItems: expect.any(Number),
        itemCount: 2,
        itemsPerPage: 2,
        totalPages: Math.ceil(res.body.meta.totalItems / 2),
        currentPage: 1,
        nextCursor: expect.any(String),
      });
      const participant = await createUser();
      expect((await http('/api/v1/users', { token: participant.accessToken })).status).toBe(403);
      expect((await http('/api/v1/users')).status).toBe(401);
    });

    it('filters by role and by text, with % and _ taken literally', async () => {
      const tag = `zq${Date.now()}`;
      const named = await createUser({ name: `Percent 100%_${tag}` });
      await createUser({ name: `Percent 1000_${tag}x` });
      const byText = await http(`/api/v1/users?q=${encodeURIComponent(`100%_${tag}`)}`, { token: admin.accessToken });
      expect(byText.body.data.map((user: { id: number }) => user.id)).toEqual([named.id]);
      const admins = await http('/api/v1/users?role=ADMIN&limit=100', { token: admin.accessToken });
      expect(admins.body.data.every((user: { role: string }) => user.role === 'ADMIN')).toBe(true);
      expect(admins.body.data.map((user: { id: number }) => user.id)).toContain(admin.id);
    });

    it.each([
      'role=ROOT',
      'role=admin',
      'limit=0',
      'limit=101',
      'page=0',
      'page=1.5',
      'includeDeleted=yes',
      'unknown=1',
    ])('answers %s with 400', async (query) => {
      const res = await http(`/api/v1/users?${query}`, { token: admin.accessToken });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('HTTP_400');
    });

    it('reads every user once by cursor, in id order, and refuses forged or foreign cursors', async () => {
      await Promise.all([createUser(), createUser(), createUser(), createUser()]);
      // Deleted users too: other files delete and restore users meanwhile, which would move the live ones between
      // the offset read and the cursor walk. Users registered meanwhile come last (ids ascend), past the offset page.
      const offset = await http('/api/v1/users?limit=100&includeDeleted=true', { token: admin.accessToken });
      const ids: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = cursor
          ? `limit=3&includeDeleted=true&cursor=${encodeURIComponent(cursor)}`
          : 'limit=3&includeDeleted=true';
        const page = await http(`/api/v1/users?${query}`, { token: admin.accessToken });
        expect(page.status).toBe(200);
        ids.push(...page.body.data.map((user: { id: number }) => user.id));
        if (cursor)
          expect(page.body.meta).toEqual(
            expect.objectContaining({ totalItems: null, totalPages: null, currentPage: null }),
          );
        cursor = page.body.meta.nextCursor;
        pages += 1;
      } while (cursor && pages < 100);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(ids.slice(0, offset.body.data.length)).toEqual(offset.body.data.map((user: { id: number }) => user.id));

      const first = await http('/api/v1/users?limit=1', { token: admin.accessToken });
      const valid = first.body.meta.nextCursor as string;
      const [payload, signature] = valid.split('.');
      const forged = `${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), i: 987654 })).toString('base64url')}.${signature}`;
      for (const query of [
        `cursor=${forged}`,
        'cursor=garbage',
        `cursor=${valid}&role=ADMIN`,
        `cursor=${valid}&page=2`,
      ]) {
        const res = await http(`/api/v1/users?${query}`, { token: admin.accessToken });
        expect(res.status).toBe(400);
      }
      expect((await http(`/api/v1/users?cursor=${valid}&limit=5`, { token: admin.accessToken })).status).toBe(200);
      expect(
        (await http(`/api/v1/users?cursor=${valid}&includeDeleted=false`, { token: admin.accessToken })).status,
      ).toBe(200);
    });

    it('answers a page past the end with 200 and no data', async () => {
      const res = await http('/api/v1/users?page=100000', { token: admin.accessToken });
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual([]);
      expect(res.body.meta.nextCursor).toBeNull();
    });
  });

  describe('GET /users/:id', () => {
    it('answers an ADMIN and the user itself; another user gets 403', async () => {
      const user = await createUser();
      const other = await createUser();
      const expected = {
        id: user.id,
        email: user.email,
        name: user.name,
        role: 'PARTICIPANT',
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      };
      expect((await http(`/api/v1/users/${user.id}`, { token: admin.accessToken })).body.data).toEqual(expected);
      expect((await http(`/api/v1/users/${user.id}`, { token: user.accessToken })).body.data).toEqual(expected);
      expect((await http(`/api/v1/users/${user.id}`, { token: other.accessToken })).status).toBe(403);
    });

    it('answers 404 for an unknown id, 400 for one that is not a positive integer', async () => {
      const missing = await http('/api/v1/users/99999999', { token: admin.accessToken });
      expect(missing.status).toBe(404);
      expect(missing.body.error.message).toBe('User with ID 99999999 not found');
      for (const id of ['abc', '0', '-1', '1.5', '99999999999999999999']) {
        expect((await http(`/api/v1/users/${id}`, { token: admin.accessToken })).status).toBe(400);
      }
    });
  });

  describe('PATCH /users/:id', () => {
    it('changes the name, audits only the changed field, and leaves the tokens working', async () => {
      const user = await createUser({ name: 'Before' });
      const res = await http(`/api/v1/users/${user.id}`, {
        method: 'PATCH',
        token: admin.accessToken,
        body: { name: 'After', role: 'PARTICIPANT' },
      });
      expect(res.status).toBe(200);
      expect(res.body.data.name).toBe('After');
      const updates = (await auditEntriesFor('User', user.id)).filter((entry) => entry.action === 'UPDATE');
      expect(updates).toHaveLength(1);
      expect(updates[0]).toMatchObject({
        user_id: String(admin.id),
        username: admin.email,
        old_values: { name: 'Before' },
        new_values: { name: 'After' },
      });
      expect((await me(user)).status).toBe(200);
    });

    it('ends all of the user’s logins on a role change; the same role again changes nothing', async () => {
      const user = await createUser();
      const second = await signIn(user.email, user.password);
      const res = await http(`/api/v1/users/${user.id}`, {
        method: 'PATCH',
        token: admin.accessToken,
        body: { role: 'INSTRUCTOR' },
      });
      expect(res.body.data.role).toBe('INSTRUCTOR');
      expect((await me(user)).status).toBe(401);
      expect((await me(second)).status).toBe(401);

      const fresh = await signIn(user.email, user.password);
      const updatedAt = res.body.data.updatedAt;
      const same = await http(`/api/v1/users/${user.id}`, {
        method: 'PATCH',
        token: admin.accessToken,
        body: { role: 'INSTRUCTOR' },
      });
      expect(same.status).toBe(200);
      expect(same.body.data.updatedAt).toBe(updatedAt);
      expect((await me(fresh)).status).toBe(200);
      expect((await auditEntriesFor('User', user.id)).filter((entry) => entry.action === 'UPDATE')).toHaveLength(1);
    });

    it('refuses non-ADMINs (403), unknown users (404), bad values and unknown fields (400), and self-demotion (409)', async () => {
      const user = await createUser();
      expect(
        (await http(`/api/v1/users/${user.id}`, { method: 'PATCH', token: user.accessToken, body: { role: 'ADMIN' } }))
          .status,
      ).toBe(403);
      expect(
        (await http('/api/v1/users/99999999', { method: 'PATCH', token: admin.accessToken, body: { name: 'x' } }))
          .status,
      ).toBe(404);
      for (const body of [{ role: 'ROOT' }, { name: '' }, { email: 'x@example.com' }, { name: 'x'.repeat(101) }]) {
        expect(
          (await http(`/api/v1/users/${user.id}`, { method: 'PATCH', token: admin.accessToken, body })).status,
        ).toBe(400);
      }
      const self = await http(`/api/v1/users/${admin.id}`, {
        method: 'PATCH',
        token: admin.accessToken,
        body: { role: 'PARTICIPANT' },
      });
      expect(self.status).toBe(409);
      expect((await me(admin)).body.data.role).toBe('ADMIN');
    });
  });

  describe('DELETE /users/:id and POST /users/:id/restore', () => {
    it('soft-deletes: tokens stop at once, sign-in fails like a wrong password, reads are 404; restore undoes it', async () => {
      const user = await createUser();
      const removed = await http(`/api/v1/users/${user.id}`, { method: 'DELETE', token: admin.accessToken });
      expect(removed.status).toBe(200);
      expect(removed.body.data.id).toBe(user.id);
      expect((await me(user)).status).toBe(401);
      const login = await http('/api/v1/auth/login', {
        method: 'POST',
        body: { email: user.email, password: user.password },
      });
      expect(login.status).toBe(401);
      expect(login.body.error.message).toBe('Invalid email or password');
      expect((await http(`/api/v1/users/${user.id}`, { token: admin.accessToken })).status).toBe(404);
      expect((await http(`/api/v1/users/${user.id}`, { method: 'DELETE', token: admin.accessToken })).status).toBe(404);
      const listed = await http(`/api/v1/users?q=${encodeURIComponent(user.email)}`, { token: admin.accessToken });
      expect(listed.body.data).toEqual([]);
      const withDeleted = await http(`/api/v1/users?includeDeleted=true&q=${encodeURIComponent(user.email)}`, {
        token: admin.accessToken,
      });
      expect(withDeleted.body.data.map((entry: { id: number }) => entry.id)).toEqual([user.id]);
      const again = await http('/api/v1/auth/register', {
        method: 'POST',
        body: { email: user.email, password: 'correct horse battery', name: 'X' },
      });
      expect(again.status).toBe(409);

      const restored = await http(`/api/v1/users/${user.id}/restore`, { method: 'POST', token: admin.accessToken });
      expect(restored.status).toBe(200);
      expect(
        (await http('/api/v1/auth/login', { method: 'POST', body: { email: user.email, password: user.password } }))
          .status,
      ).toBe(200);
      const actions = (await auditEntriesFor('User', user.id)).map((entry) => entry.action);
      expect(actions).toEqual(['CREATE', 'DELETE', 'RESTORE']);

      const noop = await http(`/api/v1/users/${user.id}/restore`, { method: 'POST', token: admin.accessToken });
      expect(noop.status).toBe(200);
      expect((await auditEntriesFor('User', user.id)).map((entry) => entry.action)).toEqual([
        'CREATE',
        'DELETE',
        'RESTORE',
      ]);
    });

    it('refuses non-ADMINs, unknown users and self-deletion', async () => {
      const user = await createUser();
      expect((await http(`/api/v1/users/${user.id}`, { method: 'DELETE', token: user.accessToken })).status).toBe(403);
      expect((await http(`/api/v1/users/${user.id}/restore`, { method: 'POST', token: user.accessToken })).status).toBe(
        403,
      );
      expect((await http('/api/v1/users/99999999', { method: 'DELETE', token: admin.accessToken })).status).toBe(404);
      expect((await http('/api/v1/users/99999999/restore', { method: 'POST', token: admin.accessToken })).status).toBe(
        404,
      );
      expect((await http(`/api/v1/users/${admin.id}`, { method: 'DELETE', token: admin.accessToken })).status).toBe(
        409,
      );
    });
  });

  it('never shows a password or its hash', async () => {
    const user = await createUser({ email: uniqueEmail() });
    const bodies = await Promise.all([
      http('/api/v1/auth/me', { token: user.accessToken }),
      http(`/api/v1/users/${user.id}`, { token: admin.accessToken }),
      http('/api/v1/users?limit=100', { token: admin.accessToken }),
    ]);
    for (const res of bodies) expect(res.text).not.toMatch(/argon2|password/i);
  });
});
