import 'reflect-metadata';
import { plainToInstance, Transform } from 'class-transformer';
import { IsString, validate, ValidateNested } from 'class-validator';
import fc from 'fast-check';
// What Fastify's router parses query strings with.
import { parse as parseQueryString } from 'fast-querystring';
import { ROLES } from '../auth/auth-user';
import { ACTIVITY_STATUSES, TARGET_MODELS, TARGET_TYPES } from '../../modules/activity-log/activity-log.entity';
import { ActivityExportQueryDto, ActivityQueryDto, ORDERINGS } from '../../modules/activity-log/dto/activity-query.dto';
import {
  CreateActivityBatchDto,
  CreateActivityDto,
  METADATA_MAX_BYTES,
} from '../../modules/activity-log/dto/create-activity.dto';
import { AppException } from '../http/app.exception';
import { wrapFreeJson } from '../http/free-json';
import { DtoBuilder, TransformValue } from './dto-builder';
import { CompiledSchema, DtoClass, DtoSchemas } from './dto-schema';

/*
 * The compiled schema may only pass what class-validator's validate() passes (the pipe then skips validate()).
 * Inputs are generated around every rule of the activity DTOs: lengths at and over their limits in code points,
 * whitespace that trim() removes, wrong types, nulls, unknown and prototype-named keys, metadata over 16 KiB.
 */

const OPTIONS = { whitelist: true, forbidNonWhitelisted: true }; // the pipe's
const SEED = 20260615;
const schemas = new DtoSchemas(OPTIONS);
const builder = new DtoBuilder();

/** The compiled verdict and validate()'s, on the instance the pipe builds; undefined when the body is refused first. */
async function verdicts(cls: DtoClass, plain: Record<string, unknown>) {
  let body: Record<string, unknown>;
  try {
    body = cls === ActivityQueryDto ? plain : wrapFreeJson(cls, plain);
  } catch (error) {
    if (error instanceof AppException) return undefined;
    throw error;
  }
  const build = () => plainToInstance(cls as unknown as new () => object, body);
  const errors = await validate(build(), OPTIONS);
  // The pipe's own build, when it makes one, is exactly plainToInstance's (classes, keys, values).
  const built = builder.build(cls, body);
  if (built) expect(built).toStrictEqual(build());
  return { compiled: schemas.accepts(cls, built ?? build()), valid: errors.length === 0 };
}

const PROTOTYPE_KEYS = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__', 'prototype'];
const wrong = fc.constantFrom<unknown>(null, 0, 1.5, true, [], ['a'], {}, { a: 1 });
const text = (max: number) =>
  fc.oneof(
    fc.constantFrom('DOWNLOAD_FILE', 'John Doe', 'x', '', '  ', ' padded\t', 'a'.repeat(max), 'a'.repeat(max + 1)),
    fc.constantFrom('\u{1F600}'.repeat(max), '\u{1F600}'.repeat(max + 1), `${'a'.repeat(max)}\uFE0F`, '\uD800'),
    fc.string({ maxLength: max + 2, unit: 'grapheme' }),
    wrong,
  );
const oneOf = (values: readonly string[]) =>
  fc.oneof(
    fc.constantFrom(...values),
    fc.constantFrom(...values).map((v) => v.toLowerCase()),
    text(10),
  );
const json = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.constantFrom(...PROTOTYPE_KEYS, 'a', 'b'), fc.jsonValue({ maxDepth: 2 })),
  fc.constant({ big: 'x'.repeat(METADATA_MAX_BYTES) }),
);
/** Mostly a valid value, so that most inputs break one rule at most (each rule then decides alone). */
const mostly = <T>(valid: fc.Arbitrary<T>, any: fc.Arbitrary<unknown>) =>
  fc.oneof({ arbitrary: valid, weight: 12 }, { arbitrary: any, weight: 1 });
/** Now and then an unknown or prototype-named key as well. */
const withExtra = <T extends Record<string, unknown>>(record: fc.Arbitrary<T>) =>
  fc.tuple(record, mostly(fc.constant(undefined), fc.constantFrom('extra', ...PROTOTYPE_KEYS))).map(([value, key]) => {
    if (typeof key === 'string') Object.defineProperty(value, key, { value: 1, enumerable: true, writable: true });
    return value;
  });
const optional = { requiredKeys: [] as never[] };
const email = fc.oneof(
  fc.constantFrom('john@example.com', ' john@example.com ', 'no-at-sign', `${'a'.repeat(95)}@b.com`),
  fc.emailAddress(),
  wrong,
);
const timestamp = fc
  .oneof(
    fc.date({ min: new Date(-62167219200000), max: new Date(Date.now() + 86_400_000), noInvalidDate: true }),
    fc.constant(new Date(Date.now() + 4 * 60_000)),
  )
  .map((date) => date.toISOString());
const pick = (values: readonly string[]) => fc.constantFrom(...values);
const activity = withExtra(
  fc.record(
    {
      action: mostly(fc.constantFrom('LOGIN', ' VIEW_COURSE ', 'a'.repeat(100)), text(100)),
      status: mostly(pick(ACTIVITY_STATUSES), oneOf(ACTIVITY_STATUSES)),
      metadata: mostly(
        fc.jsonValue({ maxDepth: 2 }).map((value) => ({ value })),
        fc.oneof(json, wrong),
      ),
      actor: mostly(
        withExtra(
          fc.record(
            {
              userId: mostly(fc.constant('4'), text(100)),
              name: mostly(fc.constant(' John Doe '), text(100)),
              email: mostly(fc.constant('john@example.com'), email),
              role: mostly(pick(ROLES), oneOf(ROLES)),
            },
            { requiredKeys: ['name', 'email'] },
          ),
        ),
        wrong,
      ),
      target: mostly(
        withExtra(
          fc.record(
            {
              type: mostly(pick(TARGET_TYPES), oneOf(TARGET_TYPES)),
              id: mostly(fc.constant('68ba5cdc'), text(100)),
              model: mostly(pick(TARGET_MODELS), oneOf(TARGET_MODELS)),
              name: mostly(fc.constant('Course Material.pdf'), text(200)),
            },
            { requiredKeys: ['type'] },
          ),
        ),
        wrong,
      ),
      context: mostly(
        withExtra(
          fc.record(
            {
              description: mostly(fc.constant('Downloaded'), text(500)),
              source: mostly(fc.constant('WEB_APP'), text(100)),
              additionalInfo: mostly(fc.constant({ constructor: 2 }), json),
            },
            optional,
          ),
        ),
        wrong,
      ),
      timestamp: mostly(timestamp, text(30)),
    },
    { requiredKeys: ['action'] },
  ),
);

describe('DtoBuilder', () => {
  it('builds the activity bodies itself (their transforms are all declared with TransformValue)', () => {
    for (const cls of [CreateActivityDto, CreateActivityBatchDto, ActivityQueryDto, ActivityExportQueryDto]) {
      expect(builder.build(cls, {})).toBeInstanceOf(cls);
    }
  });

  it('leaves a class with a transform it does not know to plainToInstance', () => {
    class Shouting {
      @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toUpperCase() : value))
      @IsString()
      word: string;
    }
    class Whispering {
      @TransformValue((value) => (typeof value === 'string' ? value.toLowerCase() : value))
      @IsString()
      word: string;
    }
    expect(new DtoBuilder().build(Shouting, { word: 'a' })).toBeUndefined();
    expect(new DtoBuilder().build(Whispering, { word: 'A' })).toStrictEqual(plainToInstance(Whispering, { word: 'A' }));
  });
});

describe('DtoSchemas', () => {
  it('compiles the activity DTOs (else they would silently lose their compiled check)', () => {
    for (const cls of [CreateActivityDto, CreateActivityBatchDto, ActivityQueryDto]) {
      expect(schemas.isCompiled(cls)).toBe(true);
    }
  });

  it.each([
    ['an activity', CreateActivityDto, activity],
    ['a batch', CreateActivityBatchDto, fc.record({ items: mostly(fc.array(activity, { maxLength: 3 }), wrong) })],
  ])('passes only what class-validator passes, and passes that: %s', async (_, cls, arbitrary) => {
    const seen = { passed: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(arbitrary as fc.Arbitrary<Record<string, unknown>>, async (plain) => {
        const verdict = await verdicts(cls, plain);
        if (!verdict) return;
        expect(verdict.compiled).toBe(verdict.valid);
        seen[verdict.valid ? 'passed' : 'refused']++;
      }),
      { seed: SEED, numRuns: 400 },
    );
    expect(seen.passed).toBeGreaterThan(30);
    expect(seen.refused).toBeGreaterThan(30);
  });

  it('passes only what class-validator passes, and passes that: a query string', async () => {
    const param = fc.oneof(
      fc.constantFrom('action', 'status', 'targetType', 'targetId', 'source', 'start', 'end', 'timestamp', 'q'),
      fc.constantFrom('ordering', 'userId', 'includeDeleted', 'page', 'limit', 'cursor', 'extra', ...PROTOTYPE_KEYS),
    );
    const value = fc.oneof(
      fc.constantFrom('LOGIN,VIEW_COURSE', 'DONE', 'COMPLETED', 'FILE', '2025-06-13', '2025-01-01T00:00:00Z', '1'),
      fc.constantFrom('true', 'false', '-1', '0', '100', '101', '9007199254740993', '', ' ', ...ORDERINGS),
      fc.string({ maxLength: 12 }),
    );
    const query = fc
      .array(fc.tuple(param, value), { maxLength: 5 })
      .map((pairs) => pairs.map(([key, item]) => `${key}=${encodeURIComponent(item)}`).join('&'));
    const seen = { passed: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(query, async (search) => {
        const verdict = await verdicts(ActivityQueryDto, parseQueryString(search) as Record<string, unknown>);
        expect(verdict!.compiled).toBe(verdict!.valid);
        seen[verdict!.valid ? 'passed' : 'refused']++;
      }),
      { seed: SEED, numRuns: 600 },
    );
    expect(seen.passed).toBeGreaterThan(30);
    expect(seen.refused).toBeGreaterThan(30);
  });

  it('leaves unmarked classes, and classes with rules it does not model, to validate()', () => {
    class Unmarked {
      @IsString()
      name: string;
    }
    @CompiledSchema()
    class Tagged {
      @IsString({ each: true })
      tags: string[];
    }
    @CompiledSchema()
    class Untyped {
      // Nested without @Type: not modelled.
      @ValidateNested()
      tagged: Tagged;
    }
    expect(schemas.accepts(Unmarked, plainToInstance(Unmarked, { name: 'x' }))).toBe(false);
    expect(schemas.isCompiled(Untyped)).toBe(false);
    expect(new DtoSchemas({ ...OPTIONS, skipMissingProperties: true }).isCompiled(Tagged)).toBe(false);
    expect(schemas.accepts(Tagged, plainToInstance(Tagged, { tags: ['a'] }))).toBe(true);
    expect(schemas.accepts(Tagged, plainToInstance(Tagged, { tags: ['a', 1] }))).toBe(false);
    // A plain object is not the class: validate() would read other metadata.
    expect(schemas.accepts(Tagged, { tags: [] })).toBe(false);
  });
});
