import { MAX_JSON_DEPTH, unstorableJson, wellFormedJson } from './storable-json';

const nested = (levels: number): unknown => {
  let value: unknown = 'leaf';
  for (let level = 0; level < levels; level++) value = level % 2 ? [value] : { d: value };
  return value;
};

describe('unstorableJson', () => {
  it('accepts what PostgreSQL stores: emoji sequences, RTL, BOM, non-characters, lone surrogates (as U+FFFD)', () => {
    const text = '\u{1F600}\u2764\uFE0F\u{1F468}\u200D\u{1F469} \u202Eabc\uFEFF\uFFFF e\u0301 مرحبا \uD800';
    expect(unstorableJson({ [text]: [text, { [text]: text }], n: 1, b: true, z: null }, 'body')).toBeUndefined();
    expect(unstorableJson(text, 'body')).toBeUndefined();
  });

  it.each([
    ['in a nested value', { a: [1, { b: 'x\u0000' }] }, 'a[1].b', 'contain'],
    ['in an array', ['ok', '\u0000'], 'body[1]', 'contain'],
    ['in a key', { a: { 'b\u0000': 1 } }, 'a', 'have keys with'],
    ['in a top-level key', { '\u0000': 1 }, 'body', 'have keys with'],
    ['as the whole value', '\u0000', 'body', 'contain'],
  ])('names a NUL %s', (_, value, field, verb) => {
    expect(unstorableJson(value, 'body')).toEqual({ field, message: `${field} must not ${verb} NUL characters` });
  });

  it('reads the JSON text it was parsed from: only a \\u0000 escape can spell NUL there', () => {
    const text = '{"a":{"b":"x\\u0000"}}';
    expect(unstorableJson(JSON.parse(text), 'body', text)?.field).toBe('a.b');
    const escaped = '{"d":"\\\\u0000 is text"}';
    expect(unstorableJson(JSON.parse(escaped), 'body', escaped)).toBeUndefined();
  });

  it(`takes ${MAX_JSON_DEPTH} levels of nesting, not one more`, () => {
    expect(unstorableJson(nested(MAX_JSON_DEPTH), 'body')).toBeUndefined();
    expect(unstorableJson(nested(MAX_JSON_DEPTH + 1), 'body')).toEqual({
      field: 'body',
      message: `body must not be nested more than ${MAX_JSON_DEPTH} levels deep`,
    });
  });

  it('walks a 100,000-level value without overflowing its stack', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
    expect(unstorableJson(deep, 'body')?.message).toMatch(/nested/);
  });
});

describe('wellFormedJson', () => {
  it('replaces unpaired surrogates in strings and keys with U+FFFD, keeping pairs, order and everything else', () => {
    const text = '{"a\\ud800":["x\\udc00y","\\ud83d\\ude00",1,null],"b":{"c":"\\ud83d"},"d":true}';
    expect(JSON.stringify(wellFormedJson(JSON.parse(text), text))).toBe(
      JSON.stringify({ 'a\uFFFD': ['x\uFFFDy', '\u{1F600}', 1, null], b: { c: '\uFFFD' }, d: true }),
    );
  });

  it('returns the very value when its text spells no surrogate', () => {
    const value = { a: ['x'] };
    expect(wellFormedJson(value, '{"a":["x"]}')).toBe(value);
  });
});
