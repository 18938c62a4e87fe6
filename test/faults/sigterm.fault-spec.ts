import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { createConnection } from 'node:net';
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

const CLIENTS = 24;
const BATCH = 100;

/**
 * POSTs `body` with its last bytes held back until `release` resolves: a request in flight for that long. Its client
 * keeps the connection open afterwards for as long as the server lets it, as a proxy in front of Logbook does.
 */
function slowPost(baseUrl: string, token: string, body: unknown, release: Promise<void>) {
  const { port } = new URL(baseUrl);
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = request(
      {
        agent: new Agent({ keepAlive: true, timeout: 60_000 }),
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/v1/activities',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': payload.length,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.write(payload.subarray(0, 10));
    void release.then(() => req.end(payload.subarray(10)));
  });
}

/**
 * A request whose headers are still arriving until `release` resolves, on a connection of its own. Resolves with
 * the raw answer (status line, headers, body) once the connection has ended.
 */
function lateRequest(baseUrl: string, token: string, body: unknown, release: Promise<void>) {
  const { port } = new URL(baseUrl);
  const payload = JSON.stringify(body);
  return new Promise<{ answer: string; error?: string }>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port: Number(port) });
    let answer = '';
    let error: string | undefined;
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('error', (failure: NodeJS.ErrnoException) => (error = failure.code));
    socket.on('close', () => resolve({ answer, error }));
    socket.write(`POST /api/v1/activities HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    void release.then(() =>
      socket.write(
        `Authorization: Bearer ${token}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
      ),
    );
  });
}

describe('SIGTERM while clients write', () => {
  let postgres: FaultPostgres;
  let logbook: RunningLogbook;
  let client: LoadClient;

  beforeAll(async () => {
    postgres = await FaultPostgres.start();
    logbook = await startLogbook({ DATABASE_URL: postgres.url });
    client = new LoadClient(logbook.baseUrl, CLIENTS + 4);
  });

  afterAll(async () => {
    client?.close();
    await stopLogbook(logbook, 'sigterm');
    await postgres?.dispose();
  });

  it('finishes the requests in flight, refuses new ones cleanly, exits 0 and loses nothing it accepted', async () => {
    const users = await registerUsers(client, 4, 'sigterm');
    const run = randomUUID();
    const tally = new Tally();
    const accepted = new Map<string, number>();
    const bad: Answer[] = [];
    let signalledAt = 0;
    let acceptedAfterSignal = 0;
    let refusedWith503 = 0;
    let seq = 0;
    const alive = () => logbook.child.exitCode === null && logbook.child.signalCode === null;

    // Every fifth request is a batch: more work in flight when the signal arrives.
    const load = runWorkers(CLIENTS, alive, async (worker) => {
      const batch = worker % 5 === 0;
      const items = Array.from({ length: batch ? BATCH : 1 }, () => activityBody(run, (seq += 1)));
      const sentAt = Date.now();
      const answer = await client.send('POST', batch ? '/api/v1/activities/batch' : '/api/v1/activities', {
        token: users[worker % users.length].token,
        body: batch ? { items } : items[0],
        timeoutMs: 15_000,
      });
      tally.record(answer);
      if (answer.status === 201) {
        for (const activity of batch ? answer.body.data : [answer.body.data]) accepted.set(String(activity.id), 1);
        if (signalledAt && sentAt >= signalledAt) acceptedAfterSignal += 1;
        return;
      }
      if (isErrorEnvelope(answer, 503)) refusedWith503 += 1;
      else if (!['ECONNREFUSED', 'ECONNRESET', 'socket hang up', 'EPIPE'].includes(answer.error ?? ''))
        bad.push(answer);
      await sleep(20);
    });

    await waitFor('writes before the signal', () => accepted.size >= 2000);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const slow = slowPost(logbook.baseUrl, users[0].token, activityBody(run, -1), released);
    const late = lateRequest(logbook.baseUrl, users[1].token, activityBody(run, -2), released);
    await sleep(100);
    signalledAt = Date.now();
    logbook.child.kill('SIGTERM');
    setTimeout(() => release(), 500);
    const exitCode = await logbook.exited;
    const shutdownMs = Date.now() - signalledAt;
    await load;
    const slowAnswer = await slow;
    const lateAnswer = await late;
    const [lateHead, lateBody] = lateAnswer.answer.split('\r\n\r\n');
    if (lateHead.startsWith('HTTP/1.1 201')) accepted.set(String(JSON.parse(lateBody).data.id), 1);
    if (slowAnswer.status === 201) accepted.set(String(slowAnswer.body.data.id), 1);

    const rows = await postgres.sql<{ id: string }>(
      `SELECT id::text AS id FROM activities WHERE metadata->>'run' = $1`,
      [run],
    );
    const stored = new Set(rows.map((row) => row.id));
    const lost = [...accepted.keys()].filter((id) => !stored.has(id));
    tally.print('SIGTERM under write load', {
      '201s': tally.count(201) + Number(slowAnswer.status === 201) + Number(lateHead.startsWith('HTTP/1.1 201')),
      activitiesAccepted: accepted.size,
      rowsFound: stored.size,
      '5xx': tally.serverErrors,
      lost: lost.length,
      acceptedAfterSignal,
      refusedConnections: tally.errors.get('ECONNREFUSED') ?? 0,
      idleConnectionsClosed: tally.failures - (tally.errors.get('ECONNREFUSED') ?? 0),
      exitCode: String(exitCode),
      shutdownMs,
    });

    expect(exitCode).toBe(0);
    // Under way when the signal came (its body, or even its headers, still arriving): served, then disconnected.
    expect(slowAnswer.status).toBe(201);
    expect(lateHead).toMatch(/^HTTP\/1\.1 201 Created\r\n/);
    expect(lateHead).toMatch(/\r\nconnection: close\r\n/i);
    expect(lateAnswer.error).toBeUndefined();
    expect(bad.map((answer) => ({ status: answer.status, error: answer.error, body: answer.body }))).toEqual([]);
    expect(tally.unexpected(201, 503)).toEqual({});
    expect(tally.count(503)).toBe(refusedWith503);
    expect(lost).toEqual([]);
    // Nothing was stored without its answer: every request Logbook took on was answered.
    expect(stored.size).toBe(accepted.size);
    expect(shutdownMs).toBeLessThan(10_000);
    expect(logbook.output()).toMatch(/SIGTERM received[\s\S]*"msg":"stopped"/);
  });
});
