import fc from 'fast-check';
import { sign } from 'jsonwebtoken';
import { createActivity } from './helpers/activities';
import { createUser, signIn, sql, TestUser } from './helpers/factories';
import { http } from './helpers/http';
import { LedgerIntegrator } from '../src/modules/ledger/ledger-integrator.service';
import {
  changedTables,
  closeConnections,
  describeChanges,
  envelopeProblems,
  Fingerprint,
  Fingerprinter,
  IsolatedApp,
  RawRequest,
  RawResponse,
  send,
  startIsolatedApp,
} from './helpers/hostile';
import { OpenApiResponseValidator, UndocumentedOperation } from './helpers/openapi-validator';
import {
  Collection,
  DOCUMENT,
  DocumentedOperation,
  DocumentedParam,
  documentedOperations,
  resolveSchema,
  Schema,
} from './helpers/operations';

/*
 * Property-based fuzzing of every operation in openapi.json: random, boundary and hostile path ids, query strings,
 * headers and bodies, with valid, expired, forged and garbage credentials. For every request: never a 5xx; under
 * /api/v1 a 4xx is the error envelope; every JSON answer matches the document (schema and status); and a 4xx stored
 * nothing (a fingerprint of every table before and after), but for what the API itself asks of a failed
 * sign-in (its LOGIN_FAILED entry) and of a spent refresh token presented again (its login ends). The operations
 * come from the document, so a new endpoint is fuzzed without editing this file; one it cannot drive fails it.
 *
 * Reproduce or go deeper: HOSTILE_SEED=<seed> HOSTILE_RUNS=<n> npx jest test/hostile-fuzz
 */

const SEED = Number(process.env.HOSTILE_SEED ?? 20_261_207);
// About 20 requests an operation: enough for each to see both answers it documents, with this seed and others.
const RUNS = Number(process.env.HOSTILE_RUNS ?? 900);
const API = '/api/v1';
const PASSWORD = 'correct horse battery';

// ---------------------------------------------------------------------------------------------------------------
// Values resolved when the request is sent: ids, emails and tokens the app handed out so far.

type PoolName =
  | 'userId'
  | 'activityId'
  | 'auditId'
  | 'apiKeyId'
  | 'webhookId'
  | 'email'
  | 'password'
  | 'refreshToken'
  | 'cursor'
  | 'treeSize';

/** The ledger's integer parameters: tree sizes and leaf ranges, drawn from the sizes it signed (and 0). */
const LEDGER_SIZES = /^(treeSize|from|to|start|end)$/;
type SymKind = PoolName | 'freshEmail' | 'idempotencyKey';

/** A value picked when the request is sent, from what the app has handed out by then. */
class Sym {
  constructor(
    readonly kind: SymKind,
    readonly n: number,
  ) {}
  toString() {
    return `<${this.kind}#${this.n}>`;
  }
}

/** Text sent exactly as is: a JSON number JavaScript cannot hold (1e309), a percent-encoding left broken (%E0%A4%A). */
class Raw {
  constructor(readonly text: string) {}
  toString() {
    return `<raw ${this.text.slice(0, 40)}>`;
  }
}

const sym = (kind: SymKind) => fc.nat({ max: 1000 }).map((n) => new Sym(kind, n));
const raw = (...texts: string[]) => fc.constantFrom(...texts.map((text) => new Raw(text)));

// ---------------------------------------------------------------------------------------------------------------
// The operations of the document.

/** Why an operation cannot be driven: a parameter, body or schema this file has no generator for. */
class NoGenerator extends Error {}

type Operation = DocumentedOperation;
type Param = DocumentedParam;
const resolve = resolveSchema;
const POOLS: Record<Collection, PoolName> = {
  users: 'userId',
  activities: 'activityId',
  'audit-logs': 'auditId',
  'api-keys': 'apiKeyId',
  webhooks: 'webhookId',
};

/**
 * Whether the document gives the operation a 4xx answer this fuzz can provoke (GET /health has none; the request
 * rate limit, and so 429, is off here).
 */
const documentsRefusals = (op: Operation) =>
  op.statuses.some((status) => status >= 400 && status < 500 && status !== 429);

// ---------------------------------------------------------------------------------------------------------------
// Generators. Each takes `p`, the chance of a hostile choice at each decision: 0 builds valid requests, which reach
// the deep code paths; a little builds valid requests with a few hostile parts; much builds chaos.

function either<T = unknown>(p: number, valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<T>): fc.Arbitrary<T> {
  if (p <= 0) return valid;
  return fc.oneof(
    { weight: Math.round((1 - p) * 100), arbitrary: valid },
    { weight: Math.round(p * 100), arbitrary: hostile },
  );
}

const HOSTILE_TEXT = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\uD800',
  'x\uDC00y',
  '\u{1F600}\uD83D',
  '\u202Egnp.exe',
  'مرحبا بالعالم',
  'שלום',
  '\uFEFFbom',
  '\uFFFF\uFFFE',
  'e\u0301\u0301\u0301',
  '\u2764\uFE0F',
  '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}',
  '\u{1D7D8}\u{1D7D9}',
  '\u2028\u2029',
  '\t\n\r\u000b',
  '%00',
  '%',
  '\\',
  '\\u0000',
  "'; DROP TABLE users; --",
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '${jndi:ldap://x/a}',
  '{{7*7}}',
  'NaN',
  'null',
  'undefined',
  'true',
  '0',
  '-1',
  '1.5',
  '1e309',
  '9223372036854775808',
  '__proto__',
  'constructor',
  'toString',
  '  padded  ',
  'ＡＤＭＩＮ',
  'admin',
];

const PLAUSIBLE_TEXT = [
  'LOGIN',
  'VIEW_COURSE',
  'DOWNLOAD_FILE',
  'WEB_APP',
  'x',
  'John Doe',
  'Course Material.pdf',
  '4',
  '68ba5cdc',
  'LOGIN,VIEW_COURSE',
];

/** Times that must lie ahead (an API key's expiry). */
const FUTURE_DATES = ['2099-01-01T00:00:00.000Z', '2090-06-15T10:05:00+07:00'];
const DATES = [
  '2025-06-15',
  '2025-06-15T10:05:00.000Z',
  '2025-06-15T10:05:00+07:00',
  '2025-06-15T10:05:00.123456789Z',
  '0001-01-01T00:00:00Z',
  '2000-02-29',
];
const HOSTILE_DATES = [
  '0000-01-01',
  '0000-12-31T23:59:59Z',
  '0001-01-01T00:00:00+14:00',
  '9999-12-31T23:59:59.999Z',
  '2024-02-30',
  '2025-13-01',
  '2025-06-15T25:00:00Z',
  '2025-06-15T10:05',
  '+275760-09-13T00:00:00Z',
  '1e309',
  '2099-01-01T00:00:00Z',
];

/** Strings around a schema's length bounds, counted in code points (emoji) and with variation selectors. */
function lengthBoundaries(schema: Schema): string[] {
  const min = Number(schema.minLength ?? 0);
  const max = schema.maxLength === undefined ? 1000 : Number(schema.maxLength);
  return [
    'a'.repeat(Math.max(0, min - 1)),
    'a'.repeat(max + 1),
    '\u{1F600}'.repeat(max + 1),
    '\u{1F600}'.repeat(max) + '\uFE0F',
    'e\u0301'.repeat(Math.ceil(max / 2) + 1),
    ' '.repeat(max + 2),
  ];
}

function validLengths(schema: Schema): string[] {
  const min = Math.max(1, Number(schema.minLength ?? 1));
  const max = schema.maxLength === undefined ? 200 : Number(schema.maxLength);
  return ['a'.repeat(min), 'b'.repeat(max), '\u{1F600}'.repeat(max), `  ${'c'.repeat(Math.min(max, 12))}  `].filter(
    (text) => [...text.trim()].length >= min,
  );
}

/** Webhook receivers (the tests allow private addresses, so none is looked up). */
const URLS = ['http://127.0.0.1:9/fuzz', 'https://receiver.example.com/hooks?x=1', 'http://[::1]:9/x'];
const HOSTILE_URLS = [
  'javascript:alert(1)',
  'ftp://127.0.0.1/x',
  'http://user:secret@127.0.0.1/x',
  'http://',
  '//127.0.0.1/x',
  'http://127.0.0.1:99999/x',
  'file:///etc/passwd',
];

const anyUtf16 = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
  maxLength: 12,
});

type Where = 'body' | 'query' | 'header';

/** Strings for a string schema; the name hints at dictionaries of what the app handed out (emails, tokens, ids). */
function text(schema: Schema, name: string, p: number, where: Where): fc.Arbitrary<unknown> {
  const valid: fc.Arbitrary<unknown>[] = [];
  if (schema.enum) valid.push(fc.constantFrom(...(schema.enum as string[])));
  else if (schema.format === 'email' || /email/i.test(name)) valid.push(sym('email'), sym('freshEmail'));
  else if (/password/i.test(name)) valid.push(sym('password'));
  else if (/refresh.?token/i.test(name)) valid.push(sym('refreshToken'));
  else if (/cursor/i.test(name)) valid.push(sym('cursor'));
  else if (/idempotency/i.test(name)) valid.push(sym('idempotencyKey'));
  else if (/expires/i.test(name)) valid.push(fc.constantFrom(...FUTURE_DATES));
  else if (schema.format === 'date-time' || /date|time|start|end/i.test(name)) valid.push(fc.constantFrom(...DATES));
  else if (/(^|_)id$|Id$/.test(name)) valid.push(fc.constantFrom('1', '2', '42'));
  else if (schema.format === 'uri') valid.push(fc.constantFrom(...URLS));
  else valid.push(fc.constantFrom(...PLAUSIBLE_TEXT, ...validLengths(schema)));
  const hostile: fc.Arbitrary<unknown>[] = [
    fc.constantFrom(...HOSTILE_TEXT),
    fc.constantFrom(...lengthBoundaries(schema)),
    fc.constantFrom(...HOSTILE_DATES),
    anyUtf16,
  ];
  if (schema.format === 'uri') hostile.push(fc.constantFrom(...HOSTILE_URLS));
  if (schema.enum) {
    const members = schema.enum as string[];
    hostile.push(fc.constantFrom(...members.map((m) => m.toLowerCase()), ...members.map((m) => ` ${m} `), 'COMPLETED'));
  }
  if (where === 'body') hostile.push(fc.constant('x'.repeat(70_000)));
  if (where === 'query') hostile.push(raw('%00', '%', '%ZZ', '%E0%A4%A', '%C0%80', '%ED%A0%80', '+', 'a&b=c', '%2B1'));
  return either(p, fc.oneof(...valid), fc.oneof(...hostile));
}

const HOSTILE_NUMBERS_TEXT = [
  '0',
  '-1',
  '1.5',
  '1e3',
  '0x10',
  ' 1',
  '+1',
  '-0',
  '00001',
  '9007199254740991',
  '9007199254740992',
  '9223372036854775807',
  '9223372036854775808',
  '99999999999999999999',
  '9'.repeat(400),
  '１',
  'NaN',
  'Infinity',
  '',
  'true',
];

function integer(schema: Schema, name: string, p: number, where: Where): fc.Arbitrary<unknown> {
  const min = Number(schema.minimum ?? 1);
  const max = Number(schema.maximum ?? 50);
  const valid = /(^|_)id$|Id$/.test(name) ? 'userId' : LEDGER_SIZES.test(name) ? 'treeSize' : undefined;
  const validArb: fc.Arbitrary<unknown> = valid ? sym(valid) : fc.integer({ min, max });
  const hostile: fc.Arbitrary<unknown> =
    where === 'body'
      ? fc.oneof(
          fc.constantFrom(min - 1, max + 1, 0, -1, 1.5, -0, 2 ** 31, 2 ** 53, Number.MAX_VALUE, '1', true, null),
          raw('1e309', '9223372036854775808', '-9223372036854775809', '1.0', '1e2'),
        )
      : fc.oneof(fc.constantFrom(String(min - 1), String(max + 1), ...HOSTILE_NUMBERS_TEXT), raw('%00', '1%00', '%2F'));
  return either(p, validArb, hostile);
}

function boolean(p: number, where: Where): fc.Arbitrary<unknown> {
  return either<unknown>(
    p,
    fc.boolean(),
    where === 'body'
      ? fc.constantFrom('true', 1, 0, null, 'yes')
      : fc.constantFrom('TRUE', '1', '0', 'yes', '', 'null', 'true,false'),
  );
}

const EXTRA_KEYS = ['user', 'id', 'createdAt', 'deletedAt', 'role', '__proto__', 'constructor', 'toString', 'valueOf'];
const WRONG_TYPES: unknown[] = [null, true, false, 0, -1, 1.5, '', 'x', [], {}, [[]], [{}], { a: 1 }];

function wrongType(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom(...WRONG_TYPES),
    raw('1e309', '9223372036854775808', '-0'),
    fc.constantFrom(nested(70, []), nested(64, {}), nested(63, 'leaf')),
  );
}

/** `levels` arrays or objects around `leaf`. */
function nested(levels: number, leaf: unknown): unknown {
  let value = leaf;
  for (let level = 0; level < levels; level++) value = level % 2 ? { d: value } : [value];
  return value;
}

/** An object with these own properties, `__proto__` included (a plain literal would set the prototype instead). */
function own(entries: [string, unknown][]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return object;
}

const ABSENT = Symbol('absent');

/** A body value for a schema. */
function value(schema: Schema, name: string, p: number, depth: number): fc.Arbitrary<unknown> {
  const resolved = resolve(schema);
  return either(Math.min(p, 0.5), typed(resolved, name, p, depth), wrongType());
}

function typed(schema: Schema, name: string, p: number, depth: number): fc.Arbitrary<unknown> {
  if (depth > 6) throw new NoGenerator(`${name}: schemas nested deeper than 6`);
  if (schema.enum || schema.type === 'string') return text(schema, name, p, 'body');
  if (schema.type === 'integer' || schema.type === 'number') return integer(schema, name, p, 'body');
  if (schema.type === 'boolean') return boolean(p, 'body');
  if (schema.type === 'array') {
    const items = resolve(schema.items ?? {});
    const max = Number(schema.maxItems ?? 10);
    const min = Number(schema.minItems ?? 0);
    const element = value(items, `${name}[]`, p, depth + 1);
    const length = { minLength: Math.max(min, 1), maxLength: 3 };
    // A set (`uniqueItems`) is sent without repeats when valid; with them, it is one of the hostile choices.
    const few = schema.uniqueItems
      ? fc.uniqueArray(element, { ...length, selector: (item) => JSON.stringify(item) })
      : fc.array(element, length);
    const minimal = minimalValid(items);
    return either(
      p,
      few,
      fc.oneof(
        fc.constant([]),
        fc.constant(Array.from({ length: max }, () => minimal)),
        fc.constant(Array.from({ length: max + 1 }, () => minimal)),
        fc.array(wrongType(), { minLength: 1, maxLength: 3 }),
      ),
    );
  }
  if (schema.type === 'object' && schema.properties) return object(schema, p, depth);
  if (schema.type === 'object') return freeJson(p);
  throw new NoGenerator(`${name}: no generator for ${JSON.stringify(schema).slice(0, 120)}`);
}

function object(schema: Schema, p: number, depth: number): fc.Arbitrary<unknown> {
  const required = new Set<string>(schema.required ?? []);
  const fields = Object.entries(schema.properties as Record<string, Schema>).map(([key, inner]) =>
    fc
      .option(value(inner, key, p, depth + 1), {
        nil: ABSENT,
        freq: required.has(key) ? (p > 0 ? 12 : 1_000_000) : 2,
      })
      .map((item): [string, unknown] => [key, item]),
  );
  const extras = either(
    p,
    fc.constant<[string, unknown][]>([]),
    fc.array(fc.tuple(fc.constantFrom(...EXTRA_KEYS), wrongType()), { minLength: 1, maxLength: 2 }),
  );
  return fc
    .tuple(fc.tuple(...fields), extras)
    .map(([entries, more]) => own([...entries.filter(([, item]) => item !== ABSENT), ...more]));
}

/** The smallest body a schema accepts, for boundary-sized arrays. */
function minimalValid(schema: Schema): unknown {
  const resolved = resolve(schema);
  if (resolved.enum) return resolved.enum[0];
  if (resolved.type === 'string') return 'a'.repeat(Math.max(1, Number(resolved.minLength ?? 1)));
  if (resolved.type === 'integer' || resolved.type === 'number') return Number(resolved.minimum ?? 1);
  if (resolved.type === 'boolean') return true;
  if (resolved.type === 'array') return [];
  return Object.fromEntries(
    (resolved.required ?? []).map((key: string) => [key, minimalValid(resolved.properties[key])]),
  );
}

const JSON_KEYS = ['a', 'fileSize', 'nested', 'x y', 'ключ', '日本', '\u{1F600}', ''];
const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '\u0000', '\uD800', 'a.b'];

/** Free-form JSON (metadata, additionalInfo): an object, mostly. */
function freeJson(p: number): fc.Arbitrary<unknown> {
  const key = either(p, fc.constantFrom(...JSON_KEYS), fc.constantFrom(...HOSTILE_KEYS));
  const leaf = either(
    p,
    fc.oneof(fc.constantFrom<unknown>(null, true, false, 0, -1, 2.5, 1e21, ''), fc.constantFrom(...PLAUSIBLE_TEXT)),
    fc.oneof(fc.constantFrom(...HOSTILE_TEXT), raw('1e309', '-0', '123456789012345678901234567890')),
  );
  const { tree } = fc.letrec<{ tree: unknown; node: unknown }>((tie) => ({
    node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 3 }), tie('tree')),
    tree: fc.array(fc.tuple(key, tie('node')), { maxLength: 4 }).map(own),
  }));
  return either(
    p,
    tree,
    fc.oneof(
      tree,
      fc.constantFrom(nested(62, 1), nested(63, {}), nested(64, []), nested(70, 'deep'), { big: 'x'.repeat(17_000) }),
      fc.constantFrom<unknown>([], [1, 2], 'text', 7, null),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Whole requests.

type ActorName = 'admin' | 'instructor' | 'a' | 'b';
const ACTORS: ActorName[] = ['admin', 'instructor', 'a', 'b'];

type Auth =
  | { kind: 'actor'; actor: ActorName }
  | { kind: 'none' }
  | { kind: 'raw'; value: string }
  | { kind: 'scheme'; actor: ActorName; scheme: string }
  | { kind: 'twice'; actors: [ActorName, ActorName] }
  | { kind: 'forged'; actor: ActorName; how: Forgery };

type Forgery = 'alg-none' | 'role-admin' | 'other-key' | 'hs512';

type Body = { json: unknown } | { text: string };

interface Spec {
  op: Operation;
  mode: string;
  path: unknown[];
  query: [unknown, unknown][];
  auth: Auth;
  headers: [string, unknown][];
  /** undefined: JSON when there is a body; null: none at all. */
  contentType: string | null | undefined;
  body?: Body;
}

const GARBAGE_AUTHORIZATION = [
  'Bearer',
  'Bearer ',
  'Bearer a.b.c',
  'Bearer e30.e30.',
  `Bearer ${'A'.repeat(6000)}.${'B'.repeat(500)}.C`,
  'Bearer \xff\xfe.x.y',
  'Basic dXNlcjpwYXNzd29yZA==',
  '',
  'Bearer null',
  'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.',
  'Token',
  'Negotiate YIIB',
];

const HOSTILE_BODIES = [
  '',
  'null',
  '[]',
  '[{}]',
  '"text"',
  '0',
  '1e309',
  'true',
  '{',
  '{"a":',
  '{"a":1,}',
  "{'a':1}",
  '{"__proto__":{"isAdmin":true}}',
  '{"constructor":{"prototype":{"isAdmin":true}}}',
  '\uFEFF{}',
  '{"a":"\\ud800"}',
  '{"a":"\\u0000"}',
  '{"action":"a","action":"b"}',
  `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
  `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
  'x'.repeat(70_000),
  JSON.stringify({ action: 'y'.repeat(70_000) }),
  'a=1&b=2',
  '<?xml version="1.0"?><a/>',
];

const CONTENT_TYPE_LIES = [
  'text/plain',
  'application/json; charset=utf-16',
  'APPLICATION/JSON',
  'application/json;charset=latin1',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json, text/plain',
  'application/jsonx',
  'application/merge-patch+json',
  ';',
  '',
];

const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function headers(op: Operation, p: number): fc.Arbitrary<[string, unknown][]> {
  const header = (name: string, valid: fc.Arbitrary<unknown>, hostile: string[]) =>
    fc
      .option(either(p, valid, fc.constantFrom(...hostile)), { nil: ABSENT, freq: 2 })
      .map((item): [string, unknown] => [name, item]);
  const declared = op.header.map((param) =>
    header(param.name, headerText(param, 0), [
      '',
      'x'.repeat(255),
      'x'.repeat(256),
      'caf\xe9',
      '\xff'.repeat(255),
      ' spaced ',
      'x'.repeat(4000),
      'no-cache, no-store',
    ]),
  );
  const general = [
    header('accept-language', fc.constantFrom('th', 'de', 'en', 'fr, th;q=0.5', 'de-DE,de;q=0.9,en;q=0.8'), [
      'th;q=1e999, de;q=-1, ;;;,,',
      '*',
      '\xe9\xff'.repeat(50),
      'x'.repeat(4000),
      'th;q=0',
      ',,,',
    ]),
    header('x-request-id', fc.constantFrom('fuzz-1', 'a:b.c_d-e', 'A'.repeat(128)), [
      'A'.repeat(129),
      'bad id!',
      '\xff',
      '',
      '../../x',
      '{"a":1}',
    ]),
    header('x-forwarded-for', fc.constantFrom('203.0.113.7', '2001:db8::1', '10.0.0.1, 10.0.0.2'), [
      'garbage',
      'a'.repeat(100),
      `fe80::1%${'a'.repeat(80)}`,
      ', ,',
      '999.999.999.999',
      '1.2.3.4:80',
      '[::1]',
    ]),
    header('user-agent', fc.constantFrom('Mozilla/5.0', 'curl/8.0'), ['x'.repeat(1000), '\xff\xfe', '']),
    header('cache-control', fc.constantFrom('no-cache', 'no-store'), ['max-age=0, NO-CACHE', 'garbage'.repeat(300)]),
  ];
  return fc
    .tuple(...declared, ...general)
    .map((entries) => entries.filter((entry): entry is [string, unknown] => entry[1] !== ABSENT));
}

function headerText(param: Param, p: number): fc.Arbitrary<unknown> {
  return text(resolve(param.schema), param.name, p, 'header').map((item) =>
    typeof item === 'string' && !HEADER_VALUE.test(item) ? item.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?') : item,
  );
}

function queryValue(param: Param, p: number): fc.Arbitrary<unknown> {
  const schema = resolve(param.schema);
  if (schema.enum || schema.type === 'string') return text(schema, param.name, p, 'query');
  if (schema.type === 'integer' || schema.type === 'number') return integer(schema, param.name, p, 'query');
  if (schema.type === 'boolean') return boolean(p, 'query');
  throw new NoGenerator(`query ${param.name}: no generator for ${JSON.stringify(param.schema)}`);
}

function query(op: Operation, p: number): fc.Arbitrary<[unknown, unknown][]> {
  const params = op.query.map((param) => {
    const one = queryValue(param, p);
    // Few optional parameters at a time in a valid request: together, most combinations conflict (a cursor of
    // other filters, a cursor with a page).
    const single: fc.Arbitrary<unknown[]> = param.required
      ? one.map((item) => [item])
      : fc.oneof(
          { weight: p > 0 ? 2 : 10, arbitrary: fc.constant<unknown[]>([]) },
          { weight: 1, arbitrary: one.map((item) => [item]) },
        );
    return either(p, single, fc.array(one, { minLength: 0, maxLength: 3 })).map((values) =>
      values.map((item): [unknown, unknown] => [param.name, item]),
    );
  });
  const unknown = either(
    p,
    fc.constant<[unknown, unknown][]>([]),
    fc.array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'a[b]', 'limit[]', 'x'.repeat(300)),
          raw('__proto__[x]', '', '%00', '%E0%A4%A'),
        ),
        fc.constantFrom<unknown>('1', '', 'x'),
      ),
      { minLength: 1, maxLength: 2 },
    ),
  );
  return fc.tuple(fc.tuple(...params), unknown).map(([lists, more]) => [...lists.flat(), ...more]);
}

const HOSTILE_IDS = [
  '-1',
  '0',
  '1e309',
  '9223372036854775808',
  '9223372036854775807',
  '9007199254740993',
  '1.5',
  'abc',
  '0x1',
  '+1',
  '１',
  '-0',
  '00001',
  'null',
  '9'.repeat(17),
  '9'.repeat(600),
  ' 1',
];

function pathValue(op: Operation, param: Param, p: number): fc.Arbitrary<unknown> {
  const collection = op.collections[param.name];
  const pool = collection && POOLS[collection];
  const valid: fc.Arbitrary<unknown> = pool ? sym(pool) : fc.integer({ min: 1, max: 50 });
  return either(
    p,
    valid,
    fc.oneof(fc.constantFrom(...HOSTILE_IDS), raw('%00', '1%00', '%2F', '..', '%20', '%E0%A4%A', '%C0%80', '')),
  );
}

function auth(p: number): fc.Arbitrary<Auth> {
  const actor = fc.constantFrom(...ACTORS);
  // The ADMIN as often as the others together: it may do everything (and 19 operations are its alone), so its
  // requests reach the deepest code.
  const caller = fc.oneof(
    { weight: 4, arbitrary: fc.constant<ActorName>('admin') },
    { weight: 4, arbitrary: fc.constantFrom<ActorName[]>('instructor', 'a', 'b') },
  );
  return either<Auth>(
    p,
    caller.map((name) => ({ kind: 'actor', actor: name })),
    fc.oneof(
      fc.constant<Auth>({ kind: 'none' }),
      fc.constantFrom(...GARBAGE_AUTHORIZATION).map((item): Auth => ({ kind: 'raw', value: item })),
      fc
        .tuple(actor, fc.constantFrom('Token', 'bearer', 'BEARER', 'Basic', 'JWT', 'Bearer Bearer', 'Bearer\t'))
        .map(([name, scheme]): Auth => ({ kind: 'scheme', actor: name, scheme })),
      fc.tuple(actor, actor).map((actors): Auth => ({ kind: 'twice', actors })),
      fc
        .tuple(actor, fc.constantFrom<Forgery[]>('alg-none', 'role-admin', 'other-key', 'hs512'))
        .map(([name, how]): Auth => ({ kind: 'forged', actor: name, how })),
    ),
  );
}

function body(op: Operation, p: number): fc.Arbitrary<Body | undefined> {
  const hostileText = fc.constantFrom(...HOSTILE_BODIES).map((item): Body => ({ text: item }));
  if (!op.body) return either(p, fc.constant(undefined), fc.oneof(hostileText, fc.constant({ json: {} })));
  const schema = resolve(op.body);
  return either(
    p,
    object(schema, 0, 0).map((item): Body => ({ json: item })),
    fc.oneof(
      { weight: 6, arbitrary: object(schema, p, 0).map((item): Body => ({ json: item })) },
      { weight: 2, arbitrary: hostileText },
      { weight: 1, arbitrary: fc.array(object(schema, 0, 0), { maxLength: 2 }).map((item): Body => ({ json: item })) },
      { weight: 1, arbitrary: wrongType().map((item): Body => ({ json: item })) },
    ),
  );
}

function contentType(p: number): fc.Arbitrary<string | null | undefined> {
  return either(p, fc.constant(undefined), fc.oneof(fc.constant(null), fc.constantFrom(...CONTENT_TYPE_LIES)));
}

const MODES = [
  { mode: 'valid', p: 0, weight: 35 },
  { mode: 'mutated', p: 0.15, weight: 45 },
  { mode: 'chaos', p: 0.6, weight: 20 },
];

function requestOf(op: Operation, mode: string, p: number): fc.Arbitrary<Spec> {
  for (const param of op.params) {
    if (!['path', 'query', 'header'].includes(param.in)) throw new NoGenerator(`${op.key}: a parameter in ${param.in}`);
  }
  if (op.bodyTypes.some((type) => type !== 'application/json'))
    throw new NoGenerator(`${op.key}: a request body of ${op.bodyTypes.join(', ')}`);
  return fc
    .record({
      path: fc.tuple(...op.path.map((param) => pathValue(op, param, p))),
      query: query(op, p),
      auth: auth(p),
      headers: headers(op, p),
      contentType: contentType(p),
      body: body(op, p),
    })
    .map((parts) => ({ op, mode, ...parts }));
}

// ---------------------------------------------------------------------------------------------------------------
// The app under test and what it handed out.

const OTHER_KEY = 'not-the-logbook-key-but-at-least-32-bytes';

class World {
  readonly actors = new Map<ActorName, TestUser>();
  readonly pools: Record<PoolName, (string | number)[]> = {
    userId: [],
    activityId: [],
    auditId: [],
    apiKeyId: [],
    webhookId: [],
    email: [],
    password: [PASSWORD],
    refreshToken: [],
    cursor: [],
    treeSize: [0],
  };
  private fresh = 0;
  recreated = 0;

  constructor(
    readonly app: IsolatedApp,
    readonly db: Fingerprinter,
  ) {}

  add(pool: PoolName, item: string | number | undefined | null): void {
    if (item === undefined || item === null) return;
    const list = this.pools[pool];
    if (list.includes(item)) return;
    list.push(item);
    if (list.length > 200) list.shift();
  }

  pick(item: Sym): string | number {
    if (item.kind === 'freshEmail') return `fuzz-${SEED}-${(this.fresh += 1)}@example.com`;
    if (item.kind === 'idempotencyKey') return `key-${item.n % 4}`;
    const list = this.pools[item.kind];
    return list.length ? list[item.n % list.length] : 1;
  }

  /** The JSON text of a body: symbols picked, raw numbers written as they are. */
  json(item: unknown): { text: string; resolved: unknown } {
    const raws: string[] = [];
    const text = JSON.stringify(item, (_key, inner: unknown) => {
      if (inner instanceof Sym) return this.pick(inner);
      if (inner instanceof Raw) {
        raws.push(inner.text);
        return `\u0001raw${raws.length - 1}\u0001`;
      }
      return inner;
    });
    const written = (text ?? 'null').replace(
      /"\\u0001raw(\d+)\\u0001"/g,
      (_whole, index: string) => raws[Number(index)],
    );
    let resolved: unknown;
    try {
      resolved = JSON.parse(written);
    } catch {
      resolved = undefined;
    }
    return { text: written, resolved };
  }

  /** A URL component: UTF-8 percent-encoded, raw text as is. */
  component(item: unknown): string {
    if (item instanceof Raw) return item.text;
    const plain =
      item instanceof Sym ? String(this.pick(item)) : typeof item === 'string' ? item : JSON.stringify(item);
    return [...Buffer.from(plain ?? '', 'utf8')]
      .map((byte) =>
        /[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte))
          ? String.fromCharCode(byte)
          : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
      )
      .join('');
  }

  token(actor: ActorName): string {
    return this.actors.get(actor)!.accessToken;
  }

  forged(actor: ActorName, how: Forgery): string {
    const [header, payload, signature] = this.token(actor).split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const encode = (item: unknown) => Buffer.from(JSON.stringify(item)).toString('base64url');
    switch (how) {
      case 'alg-none':
        return `${encode({ alg: 'none', typ: 'JWT' })}.${payload}.`;
      case 'role-admin':
        return `${header}.${encode({ ...claims, role: 'ADMIN' })}.${signature}`;
      case 'other-key':
        return sign(claims, OTHER_KEY, { algorithm: 'HS256' });
      case 'hs512':
        return sign(claims, 'logbook-test-secret-0123456789-abcdefghij', { algorithm: 'HS512' });
    }
  }

  render(spec: Spec): { request: RawRequest; caller?: ActorName; requestId?: string; sentBody?: unknown } {
    let index = 0;
    const path = spec.op.template.replace(/\{[^}]+\}/g, () => this.component(spec.path[index++]));
    const search = spec.query.map(([key, item]) => `${this.component(key)}=${this.component(item)}`).join('&');
    const headerMap: Record<string, string | string[]> = {};
    for (const [name, item] of spec.headers)
      headerMap[name] = item instanceof Sym ? String(this.pick(item)) : String(item);
    let caller: ActorName | undefined;
    switch (spec.auth.kind) {
      case 'actor':
        caller = spec.auth.actor;
        headerMap.authorization = `Bearer ${this.token(spec.auth.actor)}`;
        break;
      case 'raw':
        headerMap.authorization = spec.auth.value;
        break;
      case 'scheme':
        headerMap.authorization = `${spec.auth.scheme} ${this.token(spec.auth.actor)}`;
        break;
      case 'twice':
        headerMap.authorization = spec.auth.actors.map((actor) => `Bearer ${this.token(actor)}`);
        break;
      case 'forged':
        headerMap.authorization = `Bearer ${this.forged(spec.auth.actor, spec.auth.how)}`;
        break;
    }
    let bodyText: string | undefined;
    let sentBody: unknown;
    if (spec.body && 'text' in spec.body) bodyText = spec.body.text;
    else if (spec.body) ({ text: bodyText, resolved: sentBody } = this.json(spec.body.json));
    if (spec.contentType === undefined && bodyText !== undefined) headerMap['content-type'] = 'application/json';
    else if (typeof spec.contentType === 'string') headerMap['content-type'] = spec.contentType;
    const requestId = typeof headerMap['x-request-id'] === 'string' ? headerMap['x-request-id'] : undefined;
    return {
      request: {
        method: spec.op.method,
        path: search ? `${path}?${search}` : path,
        headers: headerMap,
        body: bodyText,
      },
      caller,
      requestId,
      sentBody,
    };
  }

  /** Remembers the ids, emails, tokens, cursors and passwords of a successful answer. */
  harvest(spec: Spec, caller: ActorName | undefined, sentBody: unknown, response: RawResponse): void {
    const envelope = response.json as { data?: unknown; meta?: { nextCursor?: string | null } } | undefined;
    if (!envelope || typeof envelope !== 'object') return;
    this.add('cursor', envelope.meta?.nextCursor);
    const collection = spec.op.template
      .split('/')
      .filter((segment): segment is Collection => segment in POOLS)
      .map((segment) => POOLS[segment])
      .pop();
    const visit = (item: unknown, key?: string) => {
      if (Array.isArray(item)) return item.forEach((inner) => visit(inner, key));
      if (!item || typeof item !== 'object') return;
      const record = item as Record<string, unknown>;
      if (typeof record.email === 'string') this.add('email', record.email);
      if (typeof record.refreshToken === 'string') this.add('refreshToken', record.refreshToken);
      if (typeof record.id === 'number') this.add(key === 'user' ? 'userId' : (collection ?? 'userId'), record.id);
      if (record.user && typeof record.user === 'object') visit(record.user, 'user');
    };
    visit(envelope.data);
    const sent = sentBody as Record<string, unknown> | undefined;
    if (sent && typeof sent === 'object' && typeof sent.newPassword === 'string') {
      this.add('password', sent.newPassword);
      if (caller) this.actors.get(caller)!.password = sent.newPassword;
    }
  }

  /**
   * After a 401 with an actor's token: the fuzz itself ended that login (logout, a spent refresh token presented
   * again, a role change, a deletion). Sign the actor in again with its role, or make a new one.
   */
  async revive(actor: ActorName): Promise<void> {
    const user = this.actors.get(actor)!;
    const role = roleOf(actor);
    const me = await send(this.app.baseUrl, {
      method: 'GET',
      path: `${API}/auth/me`,
      headers: { authorization: `Bearer ${user.accessToken}` },
    });
    if (me.status === 200) return;
    await sql('UPDATE users SET role = $2, deleted_at = NULL WHERE id = $1', [user.id, role], this.app.databaseUrl);
    try {
      this.actors.set(actor, await signIn(user.email, user.password, this.app.baseUrl));
    } catch {
      this.actors.set(actor, await makeUser(this.app, role));
      this.recreated += 1;
    }
    this.add('userId', this.actors.get(actor)!.id);
  }
}

const roleOf = (actor: ActorName): TestUser['role'] =>
  actor === 'admin' ? 'ADMIN' : actor === 'instructor' ? 'INSTRUCTOR' : 'PARTICIPANT';

async function makeUser(app: IsolatedApp, role: TestUser['role']): Promise<TestUser> {
  const user = await createUser({}, app.baseUrl);
  if (role === 'PARTICIPANT') return user;
  await sql('UPDATE users SET role = $2 WHERE id = $1', [user.id, role], app.databaseUrl);
  return signIn(user.email, user.password, app.baseUrl);
}

// ---------------------------------------------------------------------------------------------------------------
// What may change on a 4xx: the exceptions docs/API.md names.

async function allowedByContract(
  op: Operation,
  status: number,
  before: Fingerprint,
  after: Fingerprint,
  changed: string[],
  db: Fingerprinter,
): Promise<boolean> {
  if (op.operationId === 'Auth_login' && status === 401) {
    // The LOGIN_FAILED entry, the chain's head, and the entry waiting for the ledger in the same statement.
    const entryTables = ['audit_logs', 'audit_chain_head', 'ledger_pending'];
    if (!changed.every((table) => entryTables.includes(table))) return false;
    if (after.audit_logs.rows !== before.audit_logs.rows + 1) return false;
    if (after.ledger_pending.rows !== before.ledger_pending.rows + 1) return false;
    const added = await db.query<{ action: string }>('SELECT action FROM audit_logs WHERE id > $1', [
      before.audit_logs.maxId ?? 0,
    ]);
    return added.length === 1 && added[0].action === 'LOGIN_FAILED';
  }
  if (op.operationId === 'Auth_refresh' && status === 401) {
    return (
      changed.every((table) => table === 'auth_sessions') && after.auth_sessions.rows === before.auth_sessions.rows
    );
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------------

class Tally {
  readonly byOperation = new Map<string, Map<number, number>>();
  readonly byMode = new Map<string, number>();
  sent = 0;

  record(spec: Spec, status: number): void {
    this.sent += 1;
    this.byMode.set(spec.mode, (this.byMode.get(spec.mode) ?? 0) + 1);
    const statuses = this.byOperation.get(spec.op.key) ?? new Map<number, number>();
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    this.byOperation.set(spec.op.key, statuses);
  }

  classes(statuses: Map<number, number>): Record<string, number> {
    const classes: Record<string, number> = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
    for (const [status, count] of statuses) classes[`${Math.floor(status / 100)}xx`] += count;
    return classes;
  }

  report(): string {
    const all = new Map<number, number>();
    for (const statuses of this.byOperation.values())
      for (const [status, count] of statuses) all.set(status, (all.get(status) ?? 0) + count);
    const total = this.classes(all);
    const lines = [...this.byOperation].map(([key, statuses]) => {
      const classes = this.classes(statuses);
      const detail = [...statuses]
        .sort(([a], [b]) => a - b)
        .map(([status, count]) => `${status}:${count}`)
        .join(' ');
      return `  ${key.padEnd(42)} ${String([...statuses.values()].reduce((a, b) => a + b, 0)).padStart(4)}  2xx ${classes['2xx']}  4xx ${classes['4xx']}  5xx ${classes['5xx']}  (${detail})`;
    });
    return [
      `hostile fuzz: seed ${SEED}, ${this.sent} requests over ${this.byOperation.size} operations: ` +
        `2xx ${total['2xx']}, 3xx ${total['3xx']}, 4xx ${total['4xx']}, 5xx ${total['5xx']}; ` +
        [...this.byMode].map(([mode, count]) => `${mode} ${count}`).join(', '),
      ...lines,
    ].join('\n');
  }
}

describe('hostile input, fuzzed over every operation of openapi.json', () => {
  const validator = new OpenApiResponseValidator(DOCUMENT as never);
  let app: IsolatedApp;
  let db: Fingerprinter;
  let world: World;

  beforeAll(async () => {
    app = await startIsolatedApp('fuzz', {
      TRUST_PROXY: 'true',
      LOGIN_MAX_FAILURES_PER_ADDRESS: '1000000',
      LOGIN_MAX_FAILURES_PER_EMAIL: '5',
      BODY_LIMIT: '64kb',
    });
    db = await Fingerprinter.open(app.databaseUrl);
    world = new World(app, db);
    for (const actor of ACTORS) world.actors.set(actor, await makeUser(app, roleOf(actor)));
    for (let index = 0; index < 3; index++) await createUser({}, app.baseUrl);
    for (const actor of ACTORS) {
      const user = world.actors.get(actor)!;
      for (let index = 0; index < 3; index++) {
        const activity = await createActivity(user, { action: `SEED_${actor}_${index}` }, app.baseUrl);
        if (index === 2) {
          await http(`${API}/activities/${activity.id}`, { method: 'DELETE', token: user.accessToken }, app.baseUrl);
        }
      }
      world.add('refreshToken', user.refreshToken);
    }
    for (const row of await sql<{ id: string; email: string }>('SELECT id, email FROM users', [], app.databaseUrl)) {
      world.add('userId', Number(row.id));
      world.add('email', row.email);
    }
    for (const row of await sql<{ id: string }>('SELECT id FROM activities', [], app.databaseUrl))
      world.add('activityId', Number(row.id));
    for (const actor of ACTORS) {
      const res = await http(
        `${API}/api-keys`,
        {
          method: 'POST',
          token: world.actors.get(actor)!.accessToken,
          body: { name: actor, scopes: ['activities:read'] },
        },
        app.baseUrl,
      );
      world.add('apiKeyId', res.body.data.id);
    }
    // Several: DELETE takes them one by one, and the other operations need some left.
    for (const name of ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight']) {
      const res = await http(
        `${API}/webhooks`,
        {
          method: 'POST',
          token: world.actors.get('admin')!.accessToken,
          body: { url: `http://127.0.0.1:9/${name}`, events: ['*'] },
        },
        app.baseUrl,
      );
      world.add('webhookId', res.body.data.id);
    }
    for (const row of await sql<{ id: string }>('SELECT id FROM audit_logs', [], app.databaseUrl))
      world.add('auditId', Number(row.id));
    await integrate();
  });

  /**
   * What the ledger's background loop does (slowed down in tests), done before a request's first fingerprint, so
   * that the records of earlier requests have proofs and no integration lands between the two fingerprints.
   */
  const integrate = async () => {
    if (!(await app.app.get(LedgerIntegrator).drain())) return;
    const [state] = await sql<{ tree_size: string }>('SELECT tree_size FROM ledger_state', [], app.databaseUrl);
    world.add('treeSize', Number(state.tree_size));
  };

  afterAll(async () => {
    closeConnections();
    await db?.close();
    await app?.close();
  });

  it('has a generator for every operation and every parameter', () => {
    const ops = documentedOperations();
    const undrivable: string[] = [];
    for (const op of ops) {
      for (const { mode, p } of MODES) {
        try {
          requestOf(op, mode, p);
        } catch (error) {
          if (!(error instanceof NoGenerator)) throw error;
          undrivable.push(error.message);
        }
      }
    }
    expect(undrivable).toEqual([]);
    expect(ops.length).toBe(
      Object.values(DOCUMENT.paths).reduce(
        (count, item) =>
          count +
          Object.keys(item).filter((key) => !['parameters', 'summary', 'description', 'servers'].includes(key)).length,
        0,
      ),
    );
  });

  it(
    'never answers 5xx, answers every 4xx with the envelope and as documented, and stores nothing on a 4xx',
    async () => {
      const ops = documentedOperations();
      const tally = new Tally();
      const arbitrary = fc.oneof(
        ...ops.flatMap((op) => MODES.map(({ mode, p, weight }) => ({ weight, arbitrary: requestOf(op, mode, p) }))),
      );
      console.log(
        `hostile fuzz: seed ${SEED}, ${RUNS} runs over ${ops.length} operations (HOSTILE_SEED, HOSTILE_RUNS)`,
      );
      const started = Date.now();

      let lastFailure = '';
      const property = fc.asyncProperty(arbitrary, async (spec) => {
        const { request, caller, requestId, sentBody } = world.render(spec);
        const logsBefore = app.logs.length;
        await integrate();
        const before = await db.take();
        const response = await send(app.baseUrl, request);
        const after = await db.take();
        tally.record(spec, response.status);

        const problems: string[] = [];
        if (response.status >= 500 || response.status < 200) problems.push(`answered ${response.status}`);
        if (spec.op.template.startsWith(API) && response.status >= 400) problems.push(...envelopeProblems(response));
        // A 431 is answered before the headers are read: its X-Request-Id is a new one.
        const echoed = requestId !== undefined && /^[A-Za-z0-9._:-]{1,128}$/.test(requestId) && response.status !== 431;
        if (!response.headers['x-request-id']) problems.push('no X-Request-Id');
        else if (echoed && response.headers['x-request-id'] !== requestId) problems.push('X-Request-Id not echoed');
        // 431 (headers over Node's limit) is answered before any route: enveloped, but no operation's answer.
        if (response.json !== undefined && response.status !== 431) {
          try {
            problems.push(
              ...validator.problems(request.method, request.path.split('?')[0], response.status, response.json),
            );
          } catch (error) {
            if (!(error instanceof UndocumentedOperation)) problems.push((error as Error).message);
          }
        }
        if (response.status >= 400 && response.status < 500) {
          const changed = changedTables(before, after);
          if (changed.length && !(await allowedByContract(spec.op, response.status, before, after, changed, db)))
            problems.push(`a ${response.status} stored something: ${describeChanges(before, after, changed)}`);
        }
        if (problems.length) {
          const errors = app.logs.slice(logsBefore).filter((line) => Number(line.level) >= 50);
          lastFailure = [
            `${request.method} ${request.path.slice(0, 300)} (${spec.mode}) -> ${response.status}`,
            ...problems.map((problem) => `  - ${problem}`),
            `  headers: ${JSON.stringify(request.headers).slice(0, 600)}`,
            `  body: ${(request.body ?? '<none>').slice(0, 600)}`,
            `  response: ${response.text.slice(0, 600)}`,
            ...errors.map((line) => `  logged: ${JSON.stringify(line).slice(0, 1200)}`),
          ].join('\n');
          throw new Error(lastFailure);
        }
        if (response.status < 300) world.harvest(spec, caller, sentBody, response);
        if (response.status === 401 && caller && spec.auth.kind === 'actor') await world.revive(caller);
      });
      try {
        await fc.assert(property, { seed: SEED, numRuns: RUNS });
      } catch (error) {
        // fast-check's own report prints the whole generated request (bodies of 70 kB); the seed, path and the
        // shrunk request's failure are what matter.
        const head = String((error as Error).message).split('\nCounterexample')[0];
        const cause = (error as Error).cause as Error | undefined;
        throw new Error(`${head}\n${lastFailure || cause?.stack || String((error as Error).message).slice(0, 4000)}`);
      }

      console.log(
        `${tally.report()}\n  ${((Date.now() - started) / 1000).toFixed(1)} s, ${world.recreated} actors re-made`,
      );
      // A fuzz that never got past the door proves little: every operation answered both a success and a refusal.
      const refusable = (key: string) => ops.some((op) => op.key === key && documentsRefusals(op));
      const thin = [...tally.byOperation].filter(([key, statuses]) => {
        const classes = tally.classes(statuses);
        return classes['2xx'] === 0 || (classes['4xx'] === 0 && refusable(key));
      });
      expect(thin.map(([key]) => key)).toEqual([]);
      expect(tally.byOperation.size).toBe(ops.length);
    },
    60_000 + RUNS * 150,
  );
});
