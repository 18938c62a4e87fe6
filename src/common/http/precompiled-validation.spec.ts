import 'reflect-metadata';
import { ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { Expose, Type } from 'class-transformer';
// What Fastify's router (find-my-way) parses query strings with.
import { parse as parseQueryString } from 'fast-querystring';
import { IsDefined, IsString, registerDecorator, ValidateNested } from 'class-validator';
import { ROLES } from '../auth/auth-user';
import { ACTIVITY_STATUSES, TARGET_MODELS, TARGET_TYPES } from '../../modules/activity-log/activity-log.entity';
import { ActivityQueryDto, ORDERINGS } from '../../modules/activity-log/dto/activity-query.dto';
import {
  ActorDto,
  ContextDto,
  CreateActivityBatchDto,
  CreateActivityDto,
  FUTURE_TOLERANCE_MS,
  METADATA_MAX_BYTES,
  TargetDto,
} from '../../modules/activity-log/dto/create-activity.dto';
import { AppException } from './app.exception';
import { forget, liftFreeJson } from './free-json';
import { DtoClass, PrecompiledValidation, PrecompiledValidator } from './precompiled-validation';
import { AppValidationPipe } from './validation.pipe';
import { random } from '../../../test/helpers/random';

/*
 * The fast path may only accept what class-transformer + class-validator accept, with an equal result (same
 * classes, same own keys in the same order, same values). Inputs are generated from a fixed seed around every rule
 * of the activity DTOs: lengths at and over their limits in code points, unicode, whitespace that trim() removes
 * and some it does not, wrong types, nulls, unknown and prototype-named keys at every level, metadata at and over
 * 16 KiB, timestamps at the 5-minute future limit, enum values in the wrong case.
 */

const NOW = Date.parse('2026-06-15T12:00:00.000Z');
const OPTIONS = { whitelist: true, forbidNonWhitelisted: true };

const pipe = new AppValidationPipe();
const body = (metatype: DtoClass): ArgumentMetadata => ({ type: 'body', metatype: metatype as never, data: '' });
/**
 * The generic path alone, as the app's pipe runs it: free-form JSON lifted out of class-transformer's way
 * (free-json.ts), then Nest's ValidationPipe.transform with the app pipe's options and error factory.
 */
const fullPath = async (value: unknown, metatype: DtoClass) => {
  const lifted = liftFreeJson(metatype, value as Record<string, unknown>);
  try {
    return (await ValidationPipe.prototype.transform.call(pipe, lifted.body, body(metatype))) as unknown;
  } finally {
    forget(lifted.tokens);
  }
};
const settle = (promise: Promise<unknown>) =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => {
      if (!(error instanceof AppException)) throw error;
      return { ok: false as const, details: error.details };
    },
  );

/** The first difference between two values: prototypes, own keys and their order, primitive values. */
function difference(a: unknown, b: unknown, path = '$'): string | undefined {
  if (Object.is(a, b)) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return `${path}: ${String(a)} vs ${String(b)}`;
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${path}: prototypes differ`;
  const aKeys = Reflect.ownKeys(a).map(String);
  const bKeys = Reflect.ownKeys(b).map(String);
  if (aKeys.join('\u0000') !== bKeys.join('\u0000')) return `${path}: keys [${aKeys.join()}] vs [${bKeys.join()}]`;
  for (const key of aKeys) {
    const found = difference((a as any)[key], (b as any)[key], `${path}.${key}`);
    if (found) return found;
  }
  return undefined;
}

type Random = ReturnType<typeof random>;

const EMOJI = '\u{1F600}'; // one code point, two UTF-16 units
const SELECTOR = '\uFE0F'; // a code point validator.js's isLength does not count
const TRIMMED = [' ', '\t', '\n', '\r\n', '\u00A0', '\u2028', '\uFEFF', '\u3000'];
const NOT_TRIMMED = ['\u200B', '\u180E'];
const WRONG_TYPES: unknown[] = [0, 1.5, -1, true, false, [], ['a'], {}, { a: 1 }];
/** Keys that class-transformer skips or the pipe strips, which must never slip through unnoticed. */
const PROTOTYPE_KEYS = ['constructor', 'prototype', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];
/** Stands for 1e400 (which JSON.parse reads as Infinity) until the text is written. */
const HUGE = '\u0000huge\u0000';

function text(r: Random, max: number): unknown {
  if (r.chance(0.4)) return r.pick(['DOWNLOAD_FILE', 'John Doe', 'x', 'WEB_APP', 'Course Material.pdf', '4']);
  switch (r.int(0, 14)) {
    case 0:
      return '';
    case 1:
      return r.pick(TRIMMED).repeat(r.int(1, 3));
    case 2:
      return 'a'.repeat(max);
    case 3:
      return 'a'.repeat(max + 1);
    case 4:
      return EMOJI.repeat(max);
    case 5:
      return EMOJI.repeat(max + 1);
    case 6:
      return 'a'.repeat(max) + SELECTOR.repeat(r.int(1, 3));
    case 7:
      return `${r.pick(TRIMMED)}${'b'.repeat(r.int(max - 1, max + 1))}${r.pick(TRIMMED)}`;
    case 8:
      return `${r.pick(TRIMMED)}${r.pick(['LOGIN', 'Größe', '日本語', 'e\u0301', 'a b'])}${r.pick(TRIMMED)}`;
    case 9:
      return `${r.pick(NOT_TRIMMED)}x${r.pick(NOT_TRIMMED)}`;
    case 10:
      return r.pick(['\uD800', 'x\uDC00', `${EMOJI}\uD83D`]);
    case 11:
      return 'e\u0301'.repeat(Math.ceil(max / 2) + r.int(-1, 1));
    case 12:
      return r.pick(WRONG_TYPES);
    case 13:
      return null;
    default:
      return `  ${'c'.repeat(max)}  `;
  }
}

function email(r: Random): unknown {
  if (r.chance(0.5)) return 'john@example.com';
  const local60 = 'a'.repeat(60);
  return r.pick<unknown>([
    'john@example.com',
    '  john@example.com  ',
    '\tJohn.Doe+tag@Example.COM\n',
    `${local60}@${'b'.repeat(35)}.com`, // 100 characters
    `${local60}@${'b'.repeat(36)}.com`, // 101
    ` ${local60}@${'b'.repeat(35)}.com `,
    `${'a'.repeat(65)}@example.com`,
    'josé@example.com',
    'a@例え.jp',
    '"a b"@example.com',
    'a@[127.0.0.1]',
    'a@localhost',
    'no-at-sign',
    'x@',
    '',
    ' ',
    null,
    5,
    ['john@example.com'],
  ]);
}

const variants = (values: readonly string[]) => [
  ...values,
  ...values,
  ...values,
  ...values.map((value) => value.toLowerCase()),
  ...values.map((value) => ` ${value}`),
  'COMPLETED',
  '',
  null,
  1,
];
const STATUS_VALUES = variants(ACTIVITY_STATUSES);
const ROLE_VALUES = variants(ROLES);
const TARGET_TYPE_VALUES = variants(TARGET_TYPES);
const TARGET_MODEL_VALUES = [...variants(TARGET_MODELS), 'FILE'];

function json(r: Random, depth = 0): unknown {
  if (depth > 3) return r.pick([1, 'x', null, true]);
  switch (r.int(0, 9)) {
    case 0:
      return r.pick([0, -0, 1.5, 1e21, 5e-324, -7, HUGE]);
    case 1:
      return text(r, 5);
    case 2:
      return Array.from({ length: r.int(0, 3) }, () => json(r, depth + 1));
    case 3:
    case 4:
    case 5: {
      const object: Record<string, unknown> = {};
      for (let index = r.int(0, 4); index > 0; index--) {
        object[r.pick(['a', 'bb', 'fileSize', 'downloadTime', '10', '2', '', 'ключ', 'z z', EMOJI])] = json(
          r,
          depth + 1,
        );
      }
      if (r.chance(0.1)) setKey(object, r.pick(PROTOTYPE_KEYS), 1);
      return object;
    }
    default:
      return r.pick([null, true, 'v', 42]);
  }
}

/** An object whose compact JSON is `bytes` long (give or take `slack`), in ASCII or two-byte characters. */
function sizedObject(r: Random, bytes: number): Record<string, unknown> {
  const wide = r.chance(0.5);
  const room = bytes - '{"s":""}'.length;
  return { s: wide ? 'é'.repeat(Math.floor(room / 2)) + 'x'.repeat(room % 2) : 'x'.repeat(room) };
}

function jsonObject(r: Random): unknown {
  switch (r.int(0, 12)) {
    case 0:
      return sizedObject(r, METADATA_MAX_BYTES);
    case 1:
      return sizedObject(r, METADATA_MAX_BYTES + 1);
    case 2:
      return { q: '"'.repeat((METADATA_MAX_BYTES - 8) / 2 + r.int(0, 1)) }; // each quote is two bytes of JSON
    case 3:
      return r.pick<unknown>([[], [1], 'text', 7, null, true]);
    case 4: {
      let deep: unknown = { leaf: 1 };
      for (let level = r.int(60, 70); level > 0; level--) deep = { d: deep };
      return deep;
    }
    default: {
      const object = json(r);
      return typeof object === 'object' && object !== null && !Array.isArray(object) ? object : { value: object };
    }
  }
}

function timestamp(r: Random): unknown {
  const limit = NOW + FUTURE_TOLERANCE_MS;
  return r.pick<unknown>([
    new Date(limit).toISOString(),
    new Date(limit + 1).toISOString(),
    new Date(limit - 1).toISOString(),
    '2026-06-15T14:05:00.000+02:00', // the limit, in another zone
    '2026-06-15T14:05:00.001+02:00',
    '2026-06-15T12:05:00Z',
    '2026-06-15T12:05:01Z',
    '2025-06-15T10:05:00Z',
    '2025-06-15T10:05:00.123456789+02:00',
    '2025-06-15T10:05+0200',
    '2025-06-15T10:05:00',
    '2025-06-15 10:05:00Z',
    '2025-02-30T10:00:00Z',
    ' 2025-06-15T10:05:00Z',
    'yesterday',
    '',
    NOW,
    null,
  ]);
}

/** A valid text of at most `max` code points (after trimming, where `trimmed`), often at the limit. */
function validText(r: Random, max: number, trimmed: boolean): string {
  const pad = () => (trimmed ? r.pick(['', ...TRIMMED]) : '');
  switch (r.int(0, 7)) {
    case 0:
      return pad() + 'a'.repeat(max) + pad();
    case 1:
      return EMOJI.repeat(max);
    case 2:
      return 'a'.repeat(max) + SELECTOR; // isLength does not count the selector
    case 3:
      return `${pad()}${r.pick(['Größe', '日本語', 'e\u0301', 'a b', `${r.pick(NOT_TRIMMED)}x`])}${pad()}`;
    default:
      return r.pick(['DOWNLOAD_FILE', 'John Doe', 'x', 'WEB_APP', 'Course Material.pdf', '4']);
  }
}

function validTimestamp(r: Random): string {
  return r.pick([
    new Date(NOW + FUTURE_TOLERANCE_MS).toISOString(),
    '2026-06-15T14:05:00.000+02:00',
    '2026-06-15T12:05:00Z',
    '2025-06-15T10:05:00.123456789+02:00',
    '2025-06-15T10:05+0200',
  ]);
}

/** A valid item using a random subset of the fields, mostly with values at their limits. */
function validItem(r: Random): Record<string, unknown> {
  const value: Record<string, unknown> = { action: validText(r, 100, true) };
  if (r.chance(0.3)) value.status = r.pick(ACTIVITY_STATUSES);
  if (r.chance(0.5)) value.metadata = r.chance(0.2) ? sizedObject(r, METADATA_MAX_BYTES) : { value: json(r) };
  if (r.chance(0.4)) {
    value.actor = {
      ...(r.chance(0.5) ? { userId: validText(r, 100, false) } : {}),
      name: validText(r, 100, true),
      email: r.pick(['john@example.com', ' John.Doe+tag@Example.COM\n', `${'a'.repeat(60)}@${'b'.repeat(35)}.com`]),
      ...(r.chance(0.5) ? { role: r.pick(ROLES) } : {}),
    };
  }
  if (r.chance(0.4)) {
    value.target = {
      type: r.pick(TARGET_TYPES),
      ...(r.chance(0.5) ? { id: validText(r, 100, false) } : {}),
      ...(r.chance(0.5) ? { model: r.pick(TARGET_MODELS) } : {}),
      ...(r.chance(0.5) ? { name: validText(r, 200, false) } : {}),
    };
  }
  if (r.chance(0.4)) {
    value.context = {
      ...(r.chance(0.5) ? { description: validText(r, 500, false) } : {}),
      ...(r.chance(0.5) ? { source: validText(r, 100, false) } : {}),
      ...(r.chance(0.5) ? { additionalInfo: { value: json(r) } } : {}),
    };
  }
  if (r.chance(0.3)) value.timestamp = validTimestamp(r);
  return value;
}

function setKey(object: Record<string, unknown>, key: string, value: unknown): void {
  // As JSON.parse does: an own data property, even for `__proto__`.
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

const NESTED_FIELDS: Record<string, [string, (r: Random) => unknown][]> = {
  actor: [
    ['userId', (r) => text(r, 100)],
    ['name', (r) => text(r, 100)],
    ['email', email],
    ['role', (r) => r.pick(ROLE_VALUES)],
  ],
  target: [
    ['type', (r) => r.pick(TARGET_TYPE_VALUES)],
    ['id', (r) => text(r, 100)],
    ['model', (r) => r.pick(TARGET_MODEL_VALUES)],
    ['name', (r) => text(r, 200)],
  ],
  context: [
    ['description', (r) => text(r, 500)],
    ['source', (r) => text(r, 100)],
    ['additionalInfo', jsonObject],
  ],
};

/** One change that may (or may not) make the item invalid. */
function mutate(r: Random, value: Record<string, unknown>): void {
  const nestedName = r.pick(['actor', 'target', 'context']);
  switch (r.int(0, 9)) {
    case 0:
      value.action = r.chance(0.3) ? undefined : text(r, 100);
      return;
    case 1:
      value.status = r.pick(STATUS_VALUES);
      return;
    case 2:
      value.metadata = jsonObject(r);
      return;
    case 3:
      value.timestamp = timestamp(r);
      return;
    case 4:
      value[nestedName] = r.pick<unknown>([null, 'x', [{}], 3, {}]);
      return;
    case 5:
    case 6: {
      const nestedValue = (value[nestedName] ??= {}) as Record<string, unknown>;
      if (typeof nestedValue !== 'object' || nestedValue === null) return;
      const [field, make] = r.pick(NESTED_FIELDS[nestedName]);
      setKey(nestedValue, field, r.chance(0.15) ? undefined : make(r));
      return;
    }
    case 7: {
      const nestedValue = value[nestedName];
      if (typeof nestedValue === 'object' && nestedValue !== null) {
        setKey(nestedValue as Record<string, unknown>, r.pick(['extra', 'id ', 'Type', ...PROTOTYPE_KEYS]), text(r, 5));
      }
      return;
    }
    default:
      setKey(value, r.pick(['foo', 'id', 'user', 'ACTION', 'action ', ...PROTOTYPE_KEYS]), text(r, 10));
  }
}

function item(r: Random): Record<string, unknown> {
  const value = validItem(r);
  for (let changes = r.pick([0, 0, 1, 1, 1, 2, 3]); changes > 0; changes--) mutate(r, value);
  return value;
}

function batch(r: Random): Record<string, unknown> {
  const shape = r.int(0, 39);
  let items: unknown;
  if (shape === 0) items = r.pick<unknown>([[], null, 'items', {}, [null], [1], [[]], [[{ action: 'x' }]]]);
  else if (shape === 1) {
    // The size limits, with (sometimes) one bad item somewhere.
    items = Array.from({ length: r.pick([1000, 1001]) }, (_, index) => ({ action: `A${index}`, metadata: { index } }));
    if (r.chance(0.5)) (items as unknown[])[r.int(0, 999)] = item(r);
  } else items = Array.from({ length: r.int(1, 4) }, () => item(r));
  const value: Record<string, unknown> = { items };
  if (r.chance(0.1)) setKey(value, r.pick(['extra', 'item', ...PROTOTYPE_KEYS]), 1);
  return value;
}

/** A query-string value as sent: mostly strings (valid, at and over the limits, malformed), sometimes repeated. */
function queryText(r: Random, max: number): string {
  const value = text(r, max);
  if (typeof value !== 'string') return r.pick(['', ' ', 'x']);
  // A URL carries UTF-8: a lone surrogate cannot be in one (its bytes arrive as U+FFFD).
  return value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}
const DATE_BOUNDS = [
  '2026-01-01',
  '2026-02-30',
  '2026-13-01',
  '2026-01-01T10:00:00Z',
  '2026-01-01T10:00:00.123456789+02:00',
  '2026-01-01T10:00',
  '2026-01-01T25:00:00Z',
  ' 2026-01-01',
  'yesterday',
  '',
];
const QUERY_INTS = ['1', '0', '-1', '20', '100', '101', '1.5', 'abc', '9007199254740993', ' 5', '', '1e3', '007'];
const QUERY_FIELDS: Record<string, (r: Random) => string> = {
  action: (r) =>
    r.pick([
      'LOGIN',
      'LOGIN,VIEW_COURSE',
      ' LOGIN , X ',
      ',',
      '',
      'a'.repeat(101),
      Array.from({ length: r.pick([50, 51]) }, (_, i) => `A${i}`).join(','),
      queryText(r, 100),
    ]),
  status: (r) => r.pick([...STATUS_VALUES.filter((v): v is string => typeof v === 'string'), 'done', 'X']),
  targetType: (r) => r.pick([...TARGET_TYPE_VALUES.filter((v): v is string => typeof v === 'string')]),
  targetId: (r) => queryText(r, 100),
  source: (r) => queryText(r, 100),
  q: (r) => queryText(r, 200),
  start: (r) => r.pick(DATE_BOUNDS),
  end: (r) => r.pick(DATE_BOUNDS),
  timestamp: (r) => r.pick(DATE_BOUNDS),
  ordering: (r) => r.pick([...ORDERINGS, 'TIMESTAMP', '-x', '', ' timestamp']),
  userId: (r) => r.pick(QUERY_INTS),
  page: (r) => r.pick(QUERY_INTS),
  limit: (r) => r.pick(QUERY_INTS),
  includeDeleted: (r) => r.pick(['true', 'false', 'TRUE', '1', '']),
  cursor: (r) => r.pick(['abc.def', 'a'.repeat(1000), 'a'.repeat(1001), queryText(r, 1000)]),
};
const QUERY_KEYS = Object.keys(QUERY_FIELDS);

/**
 * A query string of strings and (repeated keys) several values; each path gets its own copy, parsed as Fastify's
 * router parses it (an object that inherits nothing; the generic path deletes `__proto__` keys from what it gets).
 */
function listQuery(r: Random): string {
  const pairs: [string, string][] = [];
  for (let fields = r.int(0, 4); fields > 0; fields--) {
    const key = r.pick(QUERY_KEYS);
    pairs.push([key, QUERY_FIELDS[key](r)]);
    if (r.chance(0.08)) pairs.push([key, QUERY_FIELDS[key](r)]);
  }
  if (r.chance(0.1)) pairs.push([r.pick(['foo', 'Action', 'sort', ...PROTOTYPE_KEYS]), queryText(r, 10)]);
  return pairs.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join('&');
}
const parseQuery = (text: string) => parseQueryString(text) as Record<string, unknown>;

/** The value as it arrives: written as JSON text and parsed again (each path gets its own copy). */
const wire = (value: unknown) => JSON.stringify(value).replaceAll(JSON.stringify(HUGE), '1e400');

type Settled = Awaited<ReturnType<typeof settle>>;
interface Tally {
  fast: number;
  fullOnly: number;
  rejected: number;
}

/**
 * One case: whatever the fast path accepted, the full path accepts with an equal result; through the app's pipe
 * (fast path, else the full one) the same result, or the same error details. Counts where the case went.
 */
function expectAgreement(context: string, accepted: object | undefined, full: Settled, viaPipe: Settled, tally: Tally) {
  if (accepted !== undefined) {
    tally.fast++;
    expect([context, full.ok]).toEqual([context, true]);
    expect([context, difference(accepted, full.ok ? full.value : undefined)]).toEqual([context, undefined]);
  } else if (full.ok) tally.fullOnly++;
  else tally.rejected++;
  expect([context, viaPipe.ok, full.ok]).toEqual([context, full.ok, viaPipe.ok]);
  if (viaPipe.ok && full.ok) expect([context, difference(viaPipe.value, full.value)]).toEqual([context, undefined]);
  if (!viaPipe.ok && !full.ok) expect([context, viaPipe.details]).toEqual([context, full.details]);
}

describe('PrecompiledValidator', () => {
  const validator = new PrecompiledValidator(OPTIONS);
  /** The fast path on a body as the pipe hands it over: as parsed, free-form JSON and all. */
  const fast = {
    isCompiled: (dto: DtoClass) => validator.isCompiled(dto),
    transform: (dto: DtoClass, value: unknown): object | undefined => validator.transform(dto, value),
  };

  beforeAll(() => {
    jest.spyOn(Date, 'now').mockReturnValue(NOW);
  });
  afterAll(() => jest.restoreAllMocks());

  it('compiles the activity DTOs (else they would silently lose their fast path)', () => {
    for (const dto of [CreateActivityBatchDto, CreateActivityDto, ActorDto, TargetDto, ContextDto]) {
      expect([dto.name, fast.isCompiled(dto)]).toEqual([dto.name, true]);
    }
  });

  it.each([
    ['CreateActivityDto', CreateActivityDto, item, 5000],
    ['CreateActivityBatchDto', CreateActivityBatchDto, batch, 1200],
  ] as const)(
    'accepts only what class-validator accepts, with an equal result: %s',
    async (_, dto, make, cases) => {
      const r = random(0x5eed + cases);
      const tally: Tally = { fast: 0, fullOnly: 0, rejected: 0 };
      for (let index = 0; index < cases; index++) {
        const sent = wire(make(r));
        const input = JSON.parse(sent) as unknown;
        const accepted = fast.transform(dto, input);
        const full = await settle(fullPath(JSON.parse(sent), dto));
        const viaPipe = await settle(pipe.transform(JSON.parse(sent), body(dto)));
        const context = `case ${index}: ${sent.slice(0, 300)}`;
        expect([context, JSON.stringify(input)]).toEqual([context, JSON.stringify(JSON.parse(sent))]); // left untouched
        expectAgreement(context, accepted, full, viaPipe, tally);
      }
      // A generator that produced only rejections, or a fast path that declined everything, would prove nothing.
      expect(tally.fast).toBeGreaterThan(cases * 0.1);
      expect(tally.rejected).toBeGreaterThan(cases * 0.1);
      expect(tally.fullOnly).toBeGreaterThan(0);
    },
    180_000,
  );

  it('accepts only what class-validator accepts, with an equal result: ActivityQueryDto (a query string)', async () => {
    const asQuery: ArgumentMetadata = { type: 'query', metatype: ActivityQueryDto, data: '' };
    const r = random(0x9e57);
    const tally: Tally = { fast: 0, fullOnly: 0, rejected: 0 };
    expect(validator.isCompiled(ActivityQueryDto)).toBe(true);
    for (let index = 0; index < 4000; index++) {
      const query = listQuery(r);
      const context = `case ${index}: ${query.slice(0, 300)}`;
      const accepted = validator.transform(ActivityQueryDto, parseQuery(query));
      const full = await settle(
        Promise.resolve(ValidationPipe.prototype.transform.call(pipe, parseQuery(query), asQuery) as unknown),
      );
      const viaPipe = await settle(pipe.transform(parseQuery(query), asQuery));
      expectAgreement(context, accepted, full, viaPipe, tally);
    }
    // As for bodies: a generator of rejections only, or a fast path that declines everything, would prove nothing.
    expect(tally.fast).toBeGreaterThan(400);
    expect(tally.rejected).toBeGreaterThan(400);
    expect(tally.fullOnly).toBeGreaterThan(0);
  }, 180_000);

  it('takes the boundary values that are valid (the fast path is not merely cautious)', async () => {
    const limit = new Date(NOW + FUTURE_TOLERANCE_MS).toISOString();
    const valid: Record<string, unknown>[] = [
      { action: EMOJI.repeat(100) },
      { action: `\u00A0 ${'a'.repeat(100)}\u3000\n` },
      { action: 'x', metadata: sizedObject(random(1), METADATA_MAX_BYTES) },
      { action: 'x', timestamp: limit },
      { action: 'x', status: null, metadata: null, actor: null, target: null, context: null, timestamp: null },
      {
        action: 'DOWNLOAD_FILE',
        status: 'IN_PROGRESS',
        metadata: { fileSize: '2.5MB', nested: { deep: [1, { a: null }] } },
        actor: { userId: '4', name: '  John Doe ', email: ' john@example.com ', role: 'ADMIN' },
        target: { type: 'FILE', id: '68ba5cdc', model: 'File', name: 'Course Material.pdf' },
        context: { description: 'Downloaded', source: 'WEB_APP', additionalInfo: { a: [] } },
        timestamp: '2025-06-15T10:05:00.123+02:00',
      },
    ];
    for (const value of valid) {
      const sent = wire(value);
      const accepted = fast.transform(CreateActivityDto, JSON.parse(sent));
      expect([sent.slice(0, 200), accepted === undefined]).toEqual([sent.slice(0, 200), false]);
      const full = await fullPath(JSON.parse(sent), CreateActivityDto);
      expect(difference(accepted, full)).toBeUndefined();
    }
  });

  it('leaves unmarked classes, and classes with rules it does not model, to the full path', () => {
    class Unmarked {
      @IsString()
      name: string;
    }
    @PrecompiledValidation()
    class WithIsDefined {
      @IsDefined()
      name: string;
    }
    @PrecompiledValidation()
    class WithExpose {
      @Expose({ name: 'full_name' })
      @IsString()
      name: string;
    }
    @PrecompiledValidation()
    class WithNestedButNoType {
      @ValidateNested()
      child: object;
    }
    class Child {
      @IsString()
      name: string;
    }
    @PrecompiledValidation()
    class WithAsyncRule {
      @ValidateNested()
      @Type(() => Child)
      child: Child;

      @((target: object, property: string) =>
        registerDecorator({
          name: 'later',
          target: target.constructor,
          propertyName: property,
          async: true,
          validator: { validate: () => Promise.resolve(true) },
        }))
      name: string;
    }
    for (const cls of [Unmarked, WithIsDefined, WithExpose, WithNestedButNoType, WithAsyncRule]) {
      expect([cls.name, fast.transform(cls, { name: 'x' })]).toEqual([cls.name, undefined]);
    }
    expect(new PrecompiledValidator({ whitelist: true }).isCompiled(CreateActivityDto)).toBe(false);
  });
});
