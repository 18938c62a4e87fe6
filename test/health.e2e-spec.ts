import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedPostgres } from '../src/database/embedded-postgres';
import { startTestApp } from './helpers/app';
import { http } from './helpers/http';

describe('GET /health', () => {
  it('answers 200 with the database and cache up, not enveloped', async () => {
    const res = await http('/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ok',
      info: expect.any(Object),
      error: {},
      details: {
        database: { status: 'up' },
        cache: { status: 'up', store: process.env.REDIS_URL ? 'redis' : 'memory' },
      },
    });
  });

  it('answers 503 within about a second when Redis cannot be reached, and keeps serving', async () => {
    const t = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const started = Date.now();
      const res = await http('/health', {}, t.baseUrl);
      expect(Date.now() - started).toBeLessThan(2500);
      expect(res.status).toBe(503);
      expect(res.body.status).toBe('error');
      expect(res.body.details).toEqual({ database: { status: 'up' }, cache: { status: 'down', store: 'redis' } });
    } finally {
      await t.close();
    }
  });

  it('answers 503 when the database is down', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logbook-health-'));
    const postgres = new EmbeddedPostgres({ dataDir: join(dir, 'pg') });
    const t = await startTestApp({ DATABASE_URL: await postgres.start(), REDIS_URL: undefined });
    try {
      expect((await http('/health', {}, t.baseUrl)).status).toBe(200);
      await postgres.stop();
      const res = await http('/health', {}, t.baseUrl);
      expect(res.status).toBe(503);
      expect(res.body.details.database.status).toBe('down');
      expect(res.body.details.cache).toEqual({ status: 'up', store: 'memory' });
    } finally {
      await t.close();
      await postgres.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
