import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningLogbook } from '../helpers/process';
import {
  activityBody,
  Answer,
  FaultPostgres,
  isErrorEnvelope,
  LoadClient,
  registerUsers,
  runWorkers,
  startLogbook,
  stopLogbook,
  Tally,
  waitFor,
} from './kit';

const WRITERS = 16;

interface Write {
  token: string;
  body: ReturnType<typeof activityBody>;
  key?: string;
}

describe('PostgreSQL restarts while clients write', () => {
  let postgres: FaultPostgres;
  let logbook: RunningLogbook;
  let client: LoadClient;

  beforeAll(async () => {
    postgres = await FaultPostgres.start();
    logbook = await startLogbook({ DATABASE_URL: postgres.url });
    client = new LoadClient(logbook.baseUrl, WRITERS + 4);
  });

  afterAll(async () => {
    client?.close();
    await stopLogbook(logbook, 'database-restart');
    await postgres?.dispose();
  });

  it('answers every write 201 (then stored) or a quick 503 envelope, and serves again by itself', async () => {
    const writers = await registerUsers(client, 4, 'restart-writer');
    // Signed in but not used yet: its session is not in Logbook's memory, so checking it needs the database.
    const [unchecked] = await registerUsers(client, 1, 'restart-unchecked');
    const run = randomUUID();
    const tally = new Tally();
    const created = new Set<string>();
    const refusedWithKey: Write[] = [];
    const bad: Answer[] = [];
    let longest503 = 0;
    let last201At = 0;
    let seq = 0;
    let running = true;

    const send = (write: Write) =>
      client.send('POST', '/api/v1/activities', {
        token: write.token,
        body: write.body,
        headers: write.key ? { 'idempotency-key': write.key } : {},
        timeoutMs: 15_000,
      });

    // Half the writers send an Idempotency-Key (a transaction: claim, insert, answer), half a plain INSERT.
    const load = runWorkers(
      WRITERS,
      () => running,
      async (worker) => {
        seq += 1;
        const write: Write = {
          token: writers[worker % writers.length].token,
          body: activityBody(run, seq),
          key: worker % 2 ? `restart-${run}-${seq}` : undefined,
        };
        const answer = await send(write);
        tally.record(answer);
        if (answer.status === 201) {
          created.add(String(answer.body.data.id));
          last201At = Date.now();
          return;
        }
        if (isErrorEnvelope(answer, 503)) {
          longest503 = Math.max(longest503, answer.ms);
          if (write.key) refusedWithKey.push(write);
        } else {
          bad.push(answer);
        }
        // A client backs off a little before its next write.
        await sleep(100);
      },
    );

    const outage = async (stop: () => Promise<void>) => {
      await waitFor('writes before the outage', () => created.size >= 150);
      await stop();
      const during = await Promise.all([
        client.send('GET', '/api/v1/auth/me', { token: unchecked.token, timeoutMs: 10_000 }),
        client.send('GET', '/health', { timeoutMs: 10_000 }),
      ]);
      await sleep(1500);
      await postgres.server.start();
      const upAt = Date.now();
      const servingAgainMs = await waitFor('a 201 after PostgreSQL is back', () => last201At > upAt, 30_000, 10);
      const countAtUp = created.size;
      await waitFor('writes after the outage', () => created.size >= countAtUp + 150);
      return { during, servingAgainMs };
    };
    let restart: Awaited<ReturnType<typeof outage>>;
    let crash: typeof restart;
    try {
      // A clean restart (fast shutdown: sessions ended, a checkpoint), then a crash (immediate: recovery from the WAL).
      restart = await outage(() => postgres.server.stop());
      crash = await outage(() => postgres.crash());
    } finally {
      running = false;
      await load;
    }

    // A refused write retried with its key stores it once: never again if the refused attempt had committed.
    const retried = await Promise.all(refusedWithKey.map(send));
    for (const answer of retried) {
      tally.record(answer);
      if (answer.status === 201) created.add(String(answer.body.data.id));
    }

    const rows = await postgres.sql<{ id: string; seq: string }>(
      `SELECT id::text AS id, metadata->>'seq' AS seq FROM activities WHERE metadata->>'run' = $1`,
      [run],
    );
    const stored = new Set(rows.map((row) => row.id));
    const lost = [...created].filter((id) => !stored.has(id));
    const seqs = rows.map((row) => row.seq);
    const duplicates = seqs.length - new Set(seqs).size;
    tally.print('database restart and crash under write load', {
      '201s': created.size,
      rowsFound: stored.size,
      '5xx': tally.serverErrors,
      '503s': tally.count(503),
      lost: lost.length,
      duplicates,
      retriedWithKey: retried.length,
      longest503Ms: Math.round(longest503),
      servingAgainAfterRestartMs: restart.servingAgainMs,
      servingAgainAfterCrashMs: crash.servingAgainMs,
    });

    expect(bad.map((answer) => ({ status: answer.status, error: answer.error, body: answer.body }))).toEqual([]);
    expect(tally.unexpected(201, 503)).toEqual({});
    expect(tally.count(503)).toBeGreaterThan(0);
    expect(retried.map((answer) => answer.status)).toEqual(retried.map(() => 201));
    expect(lost).toEqual([]);
    expect(duplicates).toBe(0);
    // A plain write answered 503 may still have committed just before its connection was cut; never more than those.
    expect(stored.size - created.size).toBeLessThanOrEqual(tally.count(503));
    expect(longest503).toBeLessThan(3000);
    for (const { during, servingAgainMs } of [restart, crash]) {
      expect(servingAgainMs).toBeLessThan(10_000);
      // A session Logbook cannot check now is a 503 too, not a 401 that would sign the client out.
      expect(isErrorEnvelope(during[0], 503)).toBe(true);
      expect(during[1].status).toBe(503);
      expect(during[1].body.details.database.status).toBe('down');
    }
    expect((await client.send('GET', '/api/v1/auth/me', { token: unchecked.token })).status).toBe(200);
    expect((await client.send('GET', '/health')).status).toBe(200);
  });
});
