import { FieldError } from './app.exception';

/** Deeper JSON than this is refused: recursive code downstream (JSON.stringify, class-transformer) overflows its stack. */
export const MAX_JSON_DEPTH = 64;

/** NUL: PostgreSQL's text and jsonb cannot hold it (a 500). */
// eslint-disable-next-line no-control-regex -- NUL is the very character looked for
const NUL = /\u0000/;
/** A surrogate without its partner: PostgreSQL's text stores U+FFFD for it, its jsonb refuses it (a 500). */
const LONE_SURROGATES = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// How JSON text can spell them: a body is decoded as UTF-8, so neither can reach the parser raw.
const ESCAPED_NUL = /\\u0000/;
const ESCAPED_SURROGATE = /\\ud[89a-f]/i;

/**
 * What in a parsed JSON body or query cannot be stored or walked safely: nesting deeper than
 * {@link MAX_JSON_DEPTH}, or a NUL character in a string or key. `root` names the whole; `text`, the JSON it was
 * parsed from, spares the walk over the strings when it spells no NUL.
 */
export function unstorableJson(value: unknown, root: string, text?: string): FieldError | undefined {
  if (tooDeep(value, 1))
    return { field: root, message: `${root} must not be nested more than ${MAX_JSON_DEPTH} levels deep` };
  if (text !== undefined && !ESCAPED_NUL.test(text)) return undefined;
  const found = findNul(value);
  if (!found) return undefined;
  const field =
    found.path.reduce<string>(
      (path, key) => (typeof key === 'number' ? `${path || root}[${key}]` : path ? `${path}.${key}` : key),
      '',
    ) || root;
  return {
    field,
    message: found.inKey
      ? `${field} must not have keys with NUL characters`
      : `${field} must not contain NUL characters`,
  };
}

/**
 * The value with each unpaired surrogate in its strings and keys replaced by U+FFFD, as PostgreSQL stores text,
 * so that free-form JSON (jsonb) takes them as the text columns do. Call it on values unstorableJson() accepted.
 */
export function wellFormedJson(value: unknown, text?: string): unknown {
  if (text !== undefined && !ESCAPED_SURROGATE.test(text)) return value;
  return wellFormed(value);
}

/** Stops at the first level past the limit, so it never recurses deeper than that itself. */
function tooDeep(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (depth > MAX_JSON_DEPTH) return true;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) if (tooDeep(value[index], depth + 1)) return true;
    return false;
  }
  for (const key in value) if (tooDeep((value as Record<string, unknown>)[key], depth + 1)) return true;
  return false;
}

interface Found {
  path: (string | number)[];
  inKey: boolean;
}

/** Runs on values tooDeep() let through; the path is built only on the way back from a find. */
function findNul(value: unknown): Found | undefined {
  if (typeof value === 'string') return NUL.test(value) ? { path: [], inKey: false } : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const found = findNul(value[index]);
      if (found) return { ...found, path: [index, ...found.path] };
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (NUL.test(key)) return { path: [], inKey: true };
    const found = findNul((value as Record<string, unknown>)[key]);
    if (found) return { ...found, path: [key, ...found.path] };
  }
  return undefined;
}

function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(LONE_SURROGATES, '\uFFFD');
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(wellFormed);
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [key.replace(LONE_SURROGATES, '\uFFFD'), wellFormed(inner)]),
  );
}
