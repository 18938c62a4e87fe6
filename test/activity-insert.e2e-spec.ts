import { arrayLiteral } from '../src/database/sql';
import { storedJsonb } from '../src/database/jsonb';
import { createUser, sql, TestUser } from './helpers/factories';
import { http } from './helpers/http';
import { random } from './helpers/random';

/*
 * A created activity is answered from the rows sent plus what PostgreSQL assigns (id, times), not read back, so the
 * answer must be exactly what PostgreSQL stored: these compare it with a later read and with PostgreSQL itself.
 */

const postBatch = (user: TestUser, items: unknown[]) =>
  http('/api/v1/activities/batch', { method: 'POST', token: user.accessToken, body: { items } });
const read = (user: TestUser, id: number) => http(`/api/v1/activities/${id}`, { token: user.accessToken });

/** Keys whose jsonb order differs from their insertion order: lengths, bytes beyond ASCII, integer-like keys. */
const KEYS = [
  'zz',
  'a',
  'bb',
  'B',
  'downloadTime',
  'fileSize',
  '10',
  '2',
  '',
  'é',
  'z',
  'ключ',
  '\u{1F600}',
  '\uFFFD',
  'a b',
];
const NUMBERS = [0, -0, 1.5, 1e21, 1e-7, 5e-324, 1.7976931348623157e308, 123456789012345680000, -42, Infinity, NaN];

function jsonValue(r: ReturnType<typeof random>, depth = 0): unknown {
  switch (depth > 3 ? r.int(0, 2) : r.int(0, 5)) {
    case 0:
      return r.pick(NUMBERS);
    case 1:
      return r.pick([
        '',
        'text',
        'quote " and \\ backslash',
        '{braces},commas',
        'NULL',
        'é \u{1F600}',
        null,
        true,
        false,
      ]);
    case 2:
      return null;
    case 3:
      return Array.from({ length: r.int(0, 3) }, () => jsonValue(r, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let count = r.int(0, 5); count > 0; count--) object[r.pick(KEYS)] = jsonValue(r, depth + 1);
      return object;
    }
  }
}

const jsonObject = (r: ReturnType<typeof random>) => {
  const object: Record<string, unknown> = {};
  for (let count = r.int(1, 6); count > 0; count--) object[r.pick(KEYS)] = jsonValue(r, 1);
  return object;
};

describe('the answer to a create is what PostgreSQL stored', () => {
  let user: TestUser;

  beforeAll(async () => {
    user = await createUser({ name: 'Insert Tester' });
  });

  it('answers every activity exactly as reading it back does, jsonb key order and numbers included', async () => {
    const r = random(7);
    const items = Array.from({ length: 40 }, (_, index) => ({
      action: ` ACTION_${index} `,
      metadata: jsonObject(r),
      ...(index % 2 ? { actor: { userId: 'u"1\\', name: ' Ann ', email: 'ann@example.com', role: 'INSTRUCTOR' } } : {}),
      ...(index % 3 ? { target: { type: 'FILE', id: '{a,b}', model: 'File', name: 'NULL' } } : {}),
      ...(index % 4 ? { context: { description: 'd', source: '', additionalInfo: jsonObject(r) } } : {}),
      ...(index % 5 ? {} : { context: {} }),
      ...(index % 6 ? {} : { timestamp: '2025-06-15T10:05:00.1239+02:00' }),
    }));
    const created = await postBatch(user, items);
    expect(created.status).toBe(201);
    expect(created.body.data).toHaveLength(items.length);
    for (const [index, activity] of (created.body.data as { id: number }[]).entries()) {
      const again = await read(user, activity.id);
      // Compared as text, so that a difference in key order shows.
      expect([index, JSON.stringify(activity)]).toEqual([index, JSON.stringify(again.body.data)]);
    }
  });

  it('answers texts that PostgreSQL changes on the way in as it stored them', async () => {
    // A lone surrogate arrives as U+FFFD. (Texts longer than their column, which PostgreSQL would cut, no longer
    // pass validation: lengths count every code point, U+FE0F included.)
    const created = await postBatch(user, [
      { action: 'CHANGED', target: { type: 'FILE', name: 'x\uD800y' } },
      { action: 'PLAIN' },
    ]);
    expect(created.status).toBe(201);
    const [surrogate] = created.body.data as { id: number; target: { name: string } }[];
    expect(surrogate.target.name).toBe('x\uFFFDy');
    expect(JSON.stringify(surrogate)).toBe(JSON.stringify((await read(user, surrogate.id)).body.data));
    const tooLong = await postBatch(user, [
      { action: 'CUT', target: { type: 'FILE', name: `${'a'.repeat(199)}\uFE0F ` } },
    ]);
    expect(tooLong.status).toBe(400);
  });

  it('answers 1000 items in the order given, with increasing ids', async () => {
    const items = Array.from({ length: 1000 }, (_, index) => ({ action: 'ORDERED', metadata: { index } }));
    const created = await postBatch(user, items);
    expect(created.status).toBe(201);
    const data = created.body.data as { id: number; metadata: { index: number } }[];
    expect(data.map((activity) => activity.metadata.index)).toEqual(items.map((_, index) => index));
    expect(data.every((activity, index) => index === 0 || activity.id > data[index - 1].id)).toBe(true);
    const stored = await sql<{ id: string; index: number }>(
      "SELECT id, (metadata->>'index')::int AS index FROM activities WHERE user_id = $1 AND action = 'ORDERED'",
      [user.id],
    );
    expect(new Map(stored.map((row) => [Number(row.id), row.index]))).toEqual(
      new Map(data.map((activity) => [activity.id, activity.metadata.index])),
    );
  });
});

describe('storedJsonb', () => {
  it('orders keys and writes numbers as a jsonb column returns them', async () => {
    const r = random(11);
    const values = Array.from({ length: 500 }, () => jsonObject(r));
    const [row] = await sql<{ values: unknown[] }>('SELECT $1::jsonb[] AS values', [
      arrayLiteral(values.map((value) => JSON.stringify(value))),
    ]);
    const fromPostgres = row.values.map((text) => JSON.stringify(typeof text === 'string' ? JSON.parse(text) : text));
    expect(values.map((value) => JSON.stringify(storedJsonb(value, 0)))).toEqual(fromPostgres);
  });
});

describe('arrayLiteral', () => {
  it('round-trips texts, numbers, dates and NULLs through PostgreSQL arrays', async () => {
    const texts = [
      '',
      ' ',
      'NULL',
      'null',
      'a,b',
      '{x}',
      '"quoted"',
      'back\\slash',
      '\\"',
      'é \u{1F600}',
      null,
      'tab\tnew\nline',
    ];
    const numbers = [0, 1, -42, 9007199254740991, null];
    const dates = [new Date('2025-06-15T10:05:00.123Z'), null, new Date(0)];
    const [row] = await sql<{ texts: (string | null)[]; numbers: (string | null)[]; dates: (Date | null)[] }>(
      'SELECT $1::varchar[] AS texts, $2::bigint[] AS numbers, $3::timestamptz[] AS dates',
      [arrayLiteral(texts), arrayLiteral(numbers), arrayLiteral(dates)],
    );
    expect(row.texts).toEqual(texts);
    expect(row.numbers).toEqual(numbers.map((value) => (value === null ? null : String(value))));
    expect(row.dates).toEqual(dates);
  });
});
