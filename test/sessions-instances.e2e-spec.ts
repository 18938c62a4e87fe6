import { startTestApp, TestApp } from './helpers/app';
import { createAdmin, createUser } from './helpers/factories';
import { http, sharedBaseUrl } from './helpers/http';

/** Polls briefly: the revocation message crosses Redis between the two instances. */
async function statusWithin(ms: number, request: () => Promise<{ status: number }>, expected: number): Promise<number> {
  const deadline = Date.now() + ms;
  let status = (await request()).status;
  while (status !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    status = (await request()).status;
  }
  return status;
}

// Revocation reaches other instances through Redis; without REDIS_URL Logbook is meant to run as one instance.
// CI runs the suite a second time with REDIS_URL set, so this always runs there.
(process.env.REDIS_URL ? describe : describe.skip)(
  'revocation across two instances sharing PostgreSQL and Redis',
  () => {
    let other: TestApp;

    beforeAll(async () => {
      other = await startTestApp({ LOG_LEVEL: 'silent' });
    });
    afterAll(async () => {
      await other.close();
    });

    it('a logout through one instance ends the token on the other, which had it cached as live', async () => {
      const user = await createUser();
      const meOnOther = () => http('/api/v1/auth/me', { token: user.accessToken }, other.baseUrl);
      expect((await meOnOther()).status).toBe(200);
      expect(
        (await http('/api/v1/auth/logout', { method: 'POST', token: user.accessToken }, sharedBaseUrl())).status,
      ).toBe(200);
      expect(await statusWithin(200, meOnOther, 401)).toBe(401);
    });

    it('a deletion through the other instance ends the user’s tokens on the first', async () => {
      const admin = await createAdmin();
      const user = await createUser();
      const meOnFirst = () => http('/api/v1/auth/me', { token: user.accessToken });
      expect((await meOnFirst()).status).toBe(200);
      expect(
        (await http(`/api/v1/users/${user.id}`, { method: 'DELETE', token: admin.accessToken }, other.baseUrl)).status,
      ).toBe(200);
      expect(await statusWithin(200, meOnFirst, 401)).toBe(401);
    });
  },
);
