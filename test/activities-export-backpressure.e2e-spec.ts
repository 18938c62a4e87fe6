import { get, IncomingMessage } from 'node:http';
import { startTestApp, TestApp } from './helpers/app';
import { createUser, sql, TestUser } from './helpers/factories';

/*
 * The export reads the database through a cursor, a batch at a time, only as the client takes the download. A client
 * that stops reading must leave the query open at the database (its rows unread, not buffered in the server), and
 * the connection goes back to the pool once the download is complete.
 */
describe('GET /activities/export with a slow client', () => {
  const APPLICATION = 'logbook-export-probe';
  const ROWS = 20_000;
  let probe: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    // An app of its own whose connections say who they are, so that pg_stat_activity tells them apart.
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.searchParams.set('application_name', APPLICATION);
    probe = await startTestApp({ DATABASE_URL: url.toString(), LOG_LEVEL: 'silent' });
    user = await createUser({}, probe.baseUrl);
    // About 40 MB of CSV: far more than the socket buffers between server and client hold.
    await sql(
      `INSERT INTO activities (user_id, action, metadata, actor_name, actor_email)
       SELECT $1, 'SLOW_' || n, jsonb_build_object('pad', repeat('x', 2000), 'n', n), 'Slow Reader', 'slow@example.com'
         FROM generate_series(1, ${ROWS}) AS n`,
      [user.id],
    );
  });

  afterAll(() => probe.close());

  /** The state of the probe app's connection that runs the export query, if one does. */
  const exportBackends = () =>
    sql<{ state: string }>(
      `SELECT state FROM pg_stat_activity
        WHERE application_name = $1 AND datname = current_database() AND query LIKE 'SELECT a.id, a.user_id%'`,
      [APPLICATION],
    );

  it('leaves the rest unread at the database while the client pauses, then streams it all', async () => {
    const response = await new Promise<IncomingMessage>((resolve, reject) =>
      get(
        `${probe.baseUrl}/api/v1/activities/export?format=csv`,
        { headers: { authorization: `Bearer ${user.accessToken}` } },
        resolve,
      ).on('error', reject),
    );
    expect(response.statusCode).toBe(200);
    const chunks: Buffer[] = [];
    // Paused in the listener itself: a chunk emitted before pause() would have no listener and be lost.
    await new Promise<void>((resolve) =>
      response.once('data', (chunk: Buffer) => {
        chunks.push(chunk);
        response.pause();
        resolve();
      }),
    );

    // Long enough for a server that ignored backpressure to have read all rows and closed the cursor.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await exportBackends()).toEqual([{ state: expect.not.stringMatching(/^idle$/) }]);

    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise((resolve) => response.on('end', resolve).resume());
    const lines = Buffer.concat(chunks).toString('utf8').split('\r\n');
    expect(lines).toHaveLength(ROWS + 2); // the header, the rows, and the empty string after the last line break
    expect(lines[1]).toMatch(/^\d+,\d+,SLOW_20000,/);

    // The cursor is closed and its connection is idle in the pool again (or already serving something else, such as
    // the webhook dispatcher's look for events: then its last query is no longer the export's).
    let backends = await exportBackends();
    for (let tries = 0; tries < 50 && backends.some((backend) => backend.state !== 'idle'); tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      backends = await exportBackends();
    }
    expect(backends.length).toBeLessThanOrEqual(1);
    expect(backends.filter((backend) => backend.state !== 'idle')).toEqual([]);
  });
});
