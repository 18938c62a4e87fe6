import { createActivity, listActivities } from './helpers/activities';
import { createAdmin, createUser, TestUser } from './helpers/factories';
import { http } from './helpers/http';

describe('GET /activities/export', () => {
  let user: TestUser;
  const exportAs = (who: TestUser, query: string) =>
    http(`/api/v1/activities/export?${query}`, { token: who.accessToken });

  beforeAll(async () => {
    user = await createUser();
    await createActivity(user, { action: 'LOGIN', timestamp: '2025-03-01T10:00:00.000Z' });
    await createActivity(user, {
      action: '=HYPERLINK("http://evil.example","click")',
      timestamp: '2025-03-02T10:00:00.000Z',
      target: { type: 'FILE', name: 'report, final "v2"\nsecond line' },
      metadata: { note: '+1 more' },
    });
    await createActivity(user, {
      action: 'VIEW_COURSE',
      timestamp: '2025-03-03T10:00:00.000Z',
      context: { source: '@mention' },
    });
  });

  it('streams CSV as a download, not enveloped, quoted, with formula-like cells neutralized', async () => {
    const res = await exportAs(user, 'format=csv&ordering=timestamp');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="activities-.*\.csv"$/);
    const lines = res.text.split('\r\n');
    expect(lines[0]).toBe(
      'id,user,action,status,timestamp,actorUserId,actorName,actorEmail,actorRole,targetType,targetId,targetModel,targetName,contextDescription,contextSource,contextAdditionalInfo,metadata,ipAddress,userAgent,createdAt,updatedAt',
    );
    expect(lines[1]).toMatch(new RegExp(`^\\d+,${user.id},LOGIN,PENDING,2025-03-01T10:00:00.000Z,`));
    expect(res.text).toContain(`"'=HYPERLINK(""http://evil.example"",""click"")"`);
    expect(res.text).toContain('"report, final ""v2""\nsecond line"');
    expect(res.text).toContain(`,'@mention,`);
    expect(res.text).toContain('"{""note"":""+1 more""}"');
    expect(res.text.endsWith('\r\n')).toBe(true);
  });

  it('streams NDJSON: one activity per line, as the list shows them, with the list filters', async () => {
    const res = await exportAs(user, 'format=ndjson&action=LOGIN,VIEW_COURSE');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    const exported = res.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const listed = (await listActivities(user, 'action=LOGIN,VIEW_COURSE')).body.data;
    expect(exported).toEqual(listed);
  });

  it('exports everything, past any page size, and an empty result as the header alone', async () => {
    const bulk = await createUser();
    const items = Array.from({ length: 1000 }, (_, index) => ({ action: `BULK_${index}` }));
    for (let i = 0; i < 3; i += 1) {
      await http('/api/v1/activities/batch', { method: 'POST', token: bulk.accessToken, body: { items } });
    }
    const res = await exportAs(bulk, 'format=ndjson');
    expect(res.text.trim().split('\n')).toHaveLength(3000);
    const empty = await exportAs(bulk, 'format=csv&action=NONE');
    expect(empty.text.split('\r\n').filter(Boolean)).toHaveLength(1);
  });

  it('gives the database connection back when the client goes away mid-download', async () => {
    const bulk = await createUser();
    const items = Array.from({ length: 1000 }, (_, index) => ({
      action: `ABORT_${index}`,
      metadata: { pad: 'x'.repeat(500) },
    }));
    for (let i = 0; i < 5; i += 1) {
      await http('/api/v1/activities/batch', { method: 'POST', token: bulk.accessToken, body: { items } });
    }
    // More abandoned downloads than the pool has connections (10): a leak would starve the next request.
    for (let i = 0; i < 15; i += 1) {
      const controller = new AbortController();
      const res = await fetch(`${process.env.TEST_BASE_URL}/api/v1/activities/export?format=ndjson`, {
        headers: { authorization: `Bearer ${bulk.accessToken}` },
        signal: controller.signal,
      });
      const reader = res.body!.getReader();
      await reader.read();
      controller.abort();
      await reader.cancel().catch(() => undefined);
    }
    const started = Date.now();
    const after = await listActivities(bulk, 'limit=1&action=ABORT_1');
    expect(after.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('keeps to the caller’s own rows unless ADMIN, and refuses bad parameters', async () => {
    const stranger = await createUser();
    const admin = await createAdmin();
    expect((await exportAs(stranger, 'format=ndjson')).text).toBe('');
    expect((await exportAs(stranger, `userId=${user.id}`)).status).toBe(403);
    const adminView = await exportAs(admin, `format=ndjson&userId=${user.id}`);
    expect(adminView.text.trim().split('\n')).toHaveLength(3);
    expect((await exportAs(user, 'format=xml')).status).toBe(400);
    expect((await exportAs(user, 'format=csv&page=2')).status).toBe(400);
    expect((await http('/api/v1/activities/export')).status).toBe(401);
  });
});
