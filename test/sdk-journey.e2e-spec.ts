import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLogbookClient } from '../clients/typescript';
import { createAdmin, uniqueEmail } from './helpers/factories';
import { sharedBaseUrl } from './helpers/http';

const ROOT = join(__dirname, '..');

describe('the generated TypeScript client', () => {
  it('is generated from the committed openapi.json as committed (run `npm run openapi`)', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'logbook-client-')), 'schema.d.ts');
    await promisify(execFile)(
      join(ROOT, 'node_modules', '.bin', 'openapi-typescript'),
      ['openapi.json', '--default-non-nullable', 'false', '-o', out],
      { cwd: ROOT },
    );
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(join(ROOT, 'clients', 'typescript', 'schema.d.ts'), 'utf8'));
  });

  // Type-checked like the rest of the suite: a change to the API that breaks this journey fails to compile.
  it('drives a whole journey: register, sign in, record, list, change, export, sign out; an ADMIN audits', async () => {
    let token: string | undefined;
    const api = createLogbookClient(sharedBaseUrl(), { token: () => token });
    const email = uniqueEmail('sdk');

    const registered = await api.POST('/api/v1/auth/register', {
      body: { email, password: 'sdk journey secret', name: 'SDK User' },
    });
    expect(registered.response.status).toBe(201);
    const signedIn = await api.POST('/api/v1/auth/login', { body: { email, password: 'sdk journey secret' } });
    token = signedIn.data!.data.accessToken;
    const me = await api.GET('/api/v1/auth/me');
    expect(me.data!.data.email).toBe(email);

    const download = {
      body: {
        action: 'DOWNLOAD_FILE',
        target: { type: 'FILE' as const, id: '68ba5cdc', name: 'Course Material.pdf' },
        context: { description: 'Downloaded course material', source: 'WEB_APP' },
        metadata: { fileSize: '2.5MB' },
      },
      params: { header: { 'Idempotency-Key': 'sdk-1' } },
    };
    const single = await api.POST('/api/v1/activities', download);
    expect(single.response.status).toBe(201);
    const activity = single.data!.data;
    const replay = await api.POST('/api/v1/activities', download);
    expect(replay.data!.data.id).toBe(activity.id);

    const batch = await api.POST('/api/v1/activities/batch', {
      body: {
        items: [
          { action: 'LOGIN' },
          { action: 'VIEW_COURSE', target: { type: 'COURSE', name: 'Intro' } },
          { action: 'LOGOUT' },
        ],
      },
    });
    expect(batch.data!.data.map((item) => item.action)).toEqual(['LOGIN', 'VIEW_COURSE', 'LOGOUT']);

    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.GET('/api/v1/activities', {
        params: {
          query: { action: 'LOGIN,VIEW_COURSE,LOGOUT,DOWNLOAD_FILE', limit: 2, ...(cursor ? { cursor } : {}) },
        },
      });
      seen.push(...page.data!.data.map((item) => item.id));
      cursor = page.data!.meta.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toHaveLength(4);

    const changed = await api.PATCH('/api/v1/activities/{id}/status', {
      params: { path: { id: activity.id } },
      body: { status: 'DONE' },
    });
    expect(changed.data!.message).toBe('Updated to DONE');
    expect(changed.data!.data.status).toBe('DONE');

    const exported = await api.GET('/api/v1/activities/export', {
      params: { query: { format: 'ndjson' } },
      parseAs: 'text',
    });
    expect(exported.response.headers.get('content-disposition')).toMatch(/attachment/);
    expect((exported.data as string).trim().split('\n')).toHaveLength(4);

    const forbidden = await api.GET('/api/v1/audit-logs');
    expect(forbidden.response.status).toBe(403);
    expect(forbidden.error!.error.code).toBe('HTTP_403');

    expect((await api.POST('/api/v1/auth/logout')).response.status).toBe(200);
    expect((await api.GET('/api/v1/auth/me')).response.status).toBe(401);

    const admin = await createAdmin();
    token = admin.accessToken;
    const trail = await api.GET('/api/v1/audit-logs', {
      params: { query: { entity_type: 'ActivityLog', entity_id: String(activity.id), sort_order: 'ASC' } },
    });
    expect(trail.data!.data.map((entry) => [entry.action, entry.new_values])).toEqual([['UPDATE', { status: 'DONE' }]]);
    const verified = await api.GET('/api/v1/audit-logs/verify');
    expect(verified.data!.data.valid).toBe(true);
  });

  it('records with an API key: a signed-in user makes one, a service sends it', async () => {
    const owner = await createAdmin();
    const signedIn = createLogbookClient(sharedBaseUrl(), { token: () => owner.accessToken });
    const created = await signedIn.POST('/api/v1/api-keys', {
      body: { name: 'sdk service', scopes: ['activities:write', 'activities:read'] },
    });
    expect(created.response.status).toBe(201);
    const service = createLogbookClient(sharedBaseUrl(), { apiKey: created.data!.data.key });
    const recorded = await service.POST('/api/v1/activities', { body: { action: 'CRON_JOB_RAN' } });
    expect(recorded.response.status).toBe(201);
    expect(recorded.data!.data.user).toBe(owner.id);
    const listed = await service.GET('/api/v1/activities', { params: { query: { action: 'CRON_JOB_RAN' } } });
    expect(listed.data!.data.map((activity) => activity.id)).toContain(recorded.data!.data.id);
    const refused = await service.GET('/api/v1/users');
    expect(refused.response.status).toBe(403);
  });
});
