import { Client, types } from 'pg';
import { isoTime, jsonbToJson } from '../src/modules/activity-log/activity-export';
import type { ActivityLog } from '../src/modules/activity-log/activity-log.entity';
import { toActivityResponse } from '../src/modules/activity-log/dto/activity-response.dto';
import { createUser, sql, TestUser } from './helpers/factories';
import { http } from './helpers/http';
import { random as seeded } from './helpers/random';

/*
 * The export encodes PostgreSQL's text of each column itself instead of going through Date, JSON.parse and the
 * entity. These tests hold it to the bytes of the way it was first written (REFERENCE below, kept verbatim): the
 * entity as pg and TypeORM hydrate it, each CSV cell from its property, each NDJSON line as
 * JSON.stringify(toActivityResponse(activity)). Rows go in through SQL, so that they can hold what the API would
 * refuse but the table takes.
 */

/** The export's encoding as it was before it read text: the reference the new one must match byte for byte. */
const REFERENCE = {
  columns: [
    ['id', (a) => a.id],
    ['user', (a) => a.userId],
    ['action', (a) => a.action],
    ['status', (a) => a.status],
    ['timestamp', (a) => a.timestamp.toISOString()],
    ['actorUserId', (a) => a.actorUserId],
    ['actorName', (a) => a.actorName],
    ['actorEmail', (a) => a.actorEmail],
    ['actorRole', (a) => a.actorRole],
    ['targetType', (a) => a.targetType],
    ['targetId', (a) => a.targetId],
    ['targetModel', (a) => a.targetModel],
    ['targetName', (a) => a.targetName],
    ['contextDescription', (a) => a.contextDescription],
    ['contextSource', (a) => a.contextSource],
    ['contextAdditionalInfo', (a) => (a.contextAdditionalInfo ? JSON.stringify(a.contextAdditionalInfo) : null)],
    ['metadata', (a) => JSON.stringify(a.metadata)],
    ['ipAddress', (a) => a.ipAddress],
    ['userAgent', (a) => a.userAgent],
    ['createdAt', (a) => a.createdAt.toISOString()],
    ['updatedAt', (a) => a.updatedAt.toISOString()],
  ] as [string, (activity: ActivityLog) => string | number | null][],
  csvCell(value: string | number | null | undefined): string {
    if (value === null || value === undefined) return '';
    let text = String(value);
    if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  },
  csv(activities: ActivityLog[]): string {
    const line = (cells: (string | number | null)[]) => `${cells.map((cell) => REFERENCE.csvCell(cell)).join(',')}\r\n`;
    return [
      REFERENCE.columns.map(([name]) => name),
      ...activities.map((a) => REFERENCE.columns.map(([, read]) => read(a))),
    ]
      .map(line)
      .join('');
  },
  ndjson(activities: ActivityLog[]): string {
    return activities.map((activity) => `${JSON.stringify(toActivityResponse(activity))}\n`).join('');
  },
};

/** The user's activities as the entity held them: pg's default parsing (Date, JSON.parse), bigints as numbers. */
async function hydrated(userId: number): Promise<ActivityLog[]> {
  const rows = await sql<Record<string, any>>(
    'SELECT * FROM activities WHERE user_id = $1 AND deleted_at IS NULL ORDER BY timestamp DESC, id DESC',
    [userId],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    userId: Number(r.user_id),
    action: r.action,
    status: r.status,
    timestamp: r.timestamp,
    metadata: r.metadata,
    actorUserId: r.actor_user_id,
    actorName: r.actor_name,
    actorEmail: r.actor_email,
    actorRole: r.actor_role,
    targetType: r.target_type,
    targetId: r.target_id,
    targetModel: r.target_model,
    targetName: r.target_name,
    contextDescription: r.context_description,
    contextSource: r.context_source,
    contextAdditionalInfo: r.context_additional_info,
    ipAddress: r.ip_address,
    userAgent: r.user_agent,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    deletedAt: r.deleted_at,
  }));
}

type Row = Partial<Record<(typeof COLUMNS)[number], string | null>>;
const COLUMNS = [
  'timestamp',
  'action',
  'status',
  'metadata',
  'actor_user_id',
  'actor_name',
  'actor_email',
  'actor_role',
  'target_type',
  'target_id',
  'target_model',
  'target_name',
  'context_description',
  'context_source',
  'context_additional_info',
  'ip_address',
  'user_agent',
  'created_at',
  'updated_at',
  'deleted_at',
] as const;

/** Columns given as PostgreSQL input text, cast in SQL: jsonb and times exactly as written here. */
const CASTS: Partial<Record<(typeof COLUMNS)[number], string>> = {
  timestamp: 'timestamptz',
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
  deleted_at: 'timestamptz',
  metadata: 'jsonb',
  context_additional_info: 'jsonb',
};

/** The users whose rows went in by SQL: removed after the file, since no ADMIN list of another test may show them. */
const owners = new Set<number>();

/** Inserts rows as given; unset columns take plain values. */
async function insertRows(userId: number, rows: Row[]): Promise<void> {
  owners.add(userId);
  const defaults: Row = {
    timestamp: '2025-03-01 10:00:00.5+00',
    action: 'VIEW_COURSE',
    status: 'PENDING',
    metadata: '{}',
    actor_name: 'Test User',
    actor_email: 'test@example.com',
    created_at: '2025-03-01 10:00:00.5+00',
    updated_at: '2025-03-01 10:00:00.5+00',
  };
  const values = COLUMNS.map((column) => rows.map((row) => (column in row ? row[column] : (defaults[column] ?? null))));
  const selected = COLUMNS.map((column) => (CASTS[column] ? `u.${column}::${CASTS[column]}` : `u.${column}`));
  const arrays = COLUMNS.map((_column, index) => `$${index + 2}::text[]`);
  await sql(
    `INSERT INTO activities (user_id, ${COLUMNS.join(', ')})
     SELECT $1, ${selected.join(', ')} FROM unnest(${arrays.join(', ')}) AS u(${COLUMNS.join(', ')})`,
    [userId, ...values],
  );
}

const exportText = async (user: TestUser, format: 'csv' | 'ndjson') => {
  const res = await http(`/api/v1/activities/export?format=${format}`, { token: user.accessToken });
  expect(res.status).toBe(200);
  return res.text;
};

/** jsonb input texts whose PostgreSQL text differs from JSON.stringify's in every way we know of. */
const ODD_JSON = [
  '{}',
  '[]',
  '{"b": 1, "a": 2, "aa": 3, "B": 4}',
  '{"b": 1, "10": 2, "2": 3, "a": 4, "01": 5, "4294967295": 6, "4294967294": 7}',
  '{"1a": true, "-1": false, " 1": null}',
  // One odd number per value, so that each check is needed on its own.
  '{"price": 1.50}',
  '[-1.0]',
  '{"tiny": 1E-7}',
  '{"huge": 1e21}',
  '{"big": 12345678901234567890}',
  '[9007199254740993]',
  '{"n": [1e3, -0, 0.0, 123456789012345, -123456789012345, 1234567890123456, 0.1, 3.14159265358979323846]}',
  '{"s": "quote\\" back\\\\ slash / tab\\t nl\\n cr\\r bs\\b ff\\f \\u0001 \\u001f \\u007f \\u00e9 \\u2028 \\ud83d\\ude00"}',
  '{"k": "a\\": \\"b, c", "": "", "a b": "x , y : z", "{": "}", "[": ["]"]}',
  '{"z": {"y": [1, {"x": null}], "": ""}, "arr": [[], {}, [[]]], "t": true, "f": false}',
  '{"__proto__": {"x": 1}, "constructor": "c"}',
  '{"ünïcødé": "Zürich – 東京 🎉", "emoji 👩‍💻": "✓"}',
  '"text"',
  '"=cmd"',
  '42',
  '-5',
  '-0.5',
  'null',
  'true',
  '[1, "two", null, {"3": 4}]',
];

describe('export encoding, byte for byte as before', () => {
  let client: Client;

  beforeAll(async () => {
    client = new Client({ connectionString: process.env.TEST_DATABASE_URL });
    await client.connect();
  });

  afterAll(async () => {
    // Rows the API would refuse: an ADMIN list in another file would read them as invalid documents.
    await client.query('DELETE FROM activities WHERE user_id = ANY($1)', [[...owners]]);
    await client.end();
  });

  it('writes jsonb as JSON.stringify(JSON.parse(text)) would, for odd values and many random ones', async () => {
    const random = seeded(6).next;
    const inputs = [...ODD_JSON, ...Array.from({ length: 3000 }, () => JSON.stringify(randomJson(random, 0)))];
    const { rows } = await client.query<{ text: string }>(
      'SELECT value::jsonb::text AS text FROM unnest($1::text[]) AS value',
      [inputs],
    );
    const mismatches = rows
      .map(({ text }) => ({ text, expected: JSON.stringify(JSON.parse(text)), actual: jsonbToJson(text) }))
      .filter(({ expected, actual }) => expected !== actual);
    expect(mismatches).toEqual([]);
    // The fast path is taken, not only the round trip: PostgreSQL's spacing is what it removes.
    expect(rows[2].text).toBe('{"B": 4, "a": 2, "b": 1, "aa": 3}');
    expect(jsonbToJson(rows[2].text)).toBe('{"B":4,"a":2,"b":1,"aa":3}');
  });

  it('writes times as toISOString of the Date pg parses, in any session time zone and year', async () => {
    const times = [
      '2025-03-01 10:00:00+00',
      '2025-03-01 10:00:00.1+00',
      '2025-03-01 10:00:00.12+00',
      '2025-03-01 10:00:00.123+00',
      '2025-03-01 10:00:00.001+00',
      '2025-12-31 23:59:59.999+00',
      '9999-12-31 23:59:59.999+00',
      '10000-01-01 00:00:00+00',
      '0050-06-01 12:00:00.5+00',
      '0001-01-01 00:00:00+00',
      '0001-12-31 23:59:59.999+00 BC',
      '0044-03-15 12:00:00+00 BC',
    ];
    for (const zone of ['UTC', 'Europe/Berlin', 'America/St_Johns', 'Asia/Kathmandu']) {
      await client.query(`SET TIME ZONE '${zone}'`);
      const { rows } = await client.query<{ text: string }>(
        'SELECT value::timestamptz(3)::text AS text FROM unnest($1::text[]) AS value',
        [times],
      );
      const parse = types.getTypeParser(types.builtins.TIMESTAMPTZ) as (text: string) => Date;
      for (const { text } of rows) expect([zone, text, isoTime(text)]).toEqual([zone, text, parse(text).toISOString()]);
    }
    await client.query('RESET TIME ZONE');
  });

  it('exports rows of every odd kind as the entity-based encoder did, in CSV and NDJSON', async () => {
    const user = await createUser();
    const texts = [
      null,
      '',
      'plain',
      'a,b',
      'say "hi"',
      'two\nlines',
      'cr\rhere',
      'crlf\r\nend',
      '=SUM(A1:A9)',
      '+1',
      '-2',
      '@cmd',
      '\tx',
      '\rx',
      "'quoted already",
      ' leading space',
      '=HYPERLINK("http://x","y")',
      'Zürich – 東京 🎉 👩‍💻',
      'line\u2028separator',
      'back\\slash',
    ];
    const times = ['2025-03-01 10:00:00+00', '2025-03-01 10:00:00.1+00', '2025-03-01 10:00:00.12+00'];
    const rows: Row[] = [
      // Every nullable column null, every text column each odd text in turn.
      ...texts.map((text, index) => ({
        action: text ?? 'NULL_TEXTS',
        actor_user_id: text,
        actor_name: text ?? 'name',
        actor_email: text ?? 'email',
        // These are varchar(20), and target_type has to be one of the types.
        actor_role: text?.slice(0, 20) ?? null,
        target_type: text === null ? null : 'FILE',
        target_id: text,
        target_model: text?.slice(0, 20) ?? null,
        target_name: text,
        context_description: text,
        context_source: text,
        context_additional_info: index % 2 ? '{}' : null,
        ip_address: text,
        user_agent: text,
        timestamp: `2025-04-01 10:00:${String(index).padStart(2, '0')}.123+00`,
      })),
      // jsonb of every odd kind, as metadata and as context; falsy contexts leave `context` null.
      ...ODD_JSON.map((json, index) => ({
        metadata: json,
        context_additional_info: json,
        target_type: 'FILE',
        timestamp: `2025-05-01 10:00:${String(index).padStart(2, '0')}+00`,
      })),
      ...['false', '0', '0.0', '""', 'null', '"x"', '1', '[]'].map((json) => ({ context_additional_info: json })),
      // Times at each precision PostgreSQL prints, and years that toISOString writes its own way.
      ...times.map((time) => ({ timestamp: time, created_at: time, updated_at: time })),
      { timestamp: '0050-06-01 12:00:00.5+00', created_at: '0001-12-31 23:59:59.999+00 BC' },
      { timestamp: '10000-01-01 00:00:00+00', updated_at: '9999-12-31 23:59:59.999+00' },
      { action: 'DELETED', deleted_at: '2025-03-02 00:00:00+00' },
    ];
    const random = seeded(42).next;
    for (let i = 0; i < 300; i += 1) rows.push(randomRow(random, i));
    await insertRows(user.id, rows);
    try {
      const activities = await hydrated(user.id);
      expect(activities).toHaveLength(rows.length - 1);
      const csv = await exportText(user, 'csv');
      expect(csv).toBe(REFERENCE.csv(activities));
      const ndjson = await exportText(user, 'ndjson');
      expect(ndjson).toBe(REFERENCE.ndjson(activities));
    } finally {
      // Rows the API would never write (metadata that is not an object, unknown roles): an ADMIN's list in another
      // test file, checked against openapi.json, must not meet them.
      await client.query('DELETE FROM activities WHERE user_id = $1', [user.id]);
    }
  });
});

const PIECES = [
  'a',
  'Z',
  '0',
  '7',
  ' ',
  ',',
  '"',
  "'",
  '\\',
  '\n',
  '\r',
  '\t',
  '=',
  '+',
  '-',
  '@',
  ':',
  '{',
  '}',
  'é',
  '東',
  '🎉',
  '\u0001',
  '\u001f',
  '\u007f',
];
const KEYS = ['a', 'b', 'aa', 'B', '', ' ', '1', '10', '2', '01', '1.5', '-1', 'key with space', 'ü', '"q"', ':', ', '];

function randomText(random: () => number, max: number): string {
  return Array.from({ length: Math.floor(random() * max) }, () => PIECES[Math.floor(random() * PIECES.length)]).join(
    '',
  );
}

function randomNumber(random: () => number): number {
  const kind = Math.floor(random() * 5);
  if (kind === 0) return Math.floor(random() * 1000);
  if (kind === 1) return -Math.floor(random() * 1e15);
  if (kind === 2) return Math.round(random() * 1e6) / 100;
  if (kind === 3) return random() * 10 ** Math.floor(random() * 40 - 20);
  return Math.floor(random() * 2 ** 60);
}

function randomJson(random: () => number, depth: number): unknown {
  const kind = Math.floor(random() * (depth > 2 ? 5 : 7));
  if (kind === 0) return null;
  if (kind === 1) return random() < 0.5;
  if (kind === 2 || kind === 3) return randomNumber(random);
  if (kind === 4) return randomText(random, 8);
  if (kind === 5) return Array.from({ length: Math.floor(random() * 4) }, () => randomJson(random, depth + 1));
  const object: Record<string, unknown> = {};
  for (let i = Math.floor(random() * 5); i > 0; i -= 1) {
    const key = random() < 0.7 ? KEYS[Math.floor(random() * KEYS.length)] : randomText(random, 5);
    object[key] = randomJson(random, depth + 1);
  }
  return object;
}

function randomRow(random: () => number, index: number): Row {
  const maybe = (text: string) => (random() < 0.3 ? null : text);
  const ms = Math.floor(random() * 1000);
  const time = new Date(Date.UTC(2020, 0, 1) + Math.floor(random() * 2e11) + ms).toISOString();
  return {
    timestamp: time,
    created_at: time,
    updated_at: new Date(Date.parse(time) + Math.floor(random() * 1000)).toISOString(),
    action: `${randomText(random, 10)}${index}`,
    status: ['PENDING', 'IN_PROGRESS', 'DONE', 'FAILED'][index % 4],
    metadata: JSON.stringify(randomJson(random, 1)),
    actor_user_id: maybe(randomText(random, 10)),
    actor_name: randomText(random, 20),
    actor_email: randomText(random, 20),
    actor_role: maybe(randomText(random, 10)),
    target_type: random() < 0.5 ? null : ['FILE', 'COURSE', 'USER'][index % 3],
    target_id: maybe(randomText(random, 20)),
    target_model: maybe(randomText(random, 10)),
    target_name: maybe(randomText(random, 40)),
    context_description: maybe(randomText(random, 40)),
    context_source: maybe(randomText(random, 20)),
    context_additional_info: random() < 0.3 ? null : JSON.stringify(randomJson(random, 0)),
    ip_address: maybe(randomText(random, 15)),
    user_agent: maybe(randomText(random, 60)),
  };
}
