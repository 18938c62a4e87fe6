/*
 * How PostgreSQL gives a jsonb value back, emulated, so that a write need not read back what it sent.
 */

/** Returned by {@link storedJsonb} for a value that is not plain JSON data. */
export const NOT_JSON = Symbol('not plain JSON');
/** Deeper than this, the value is read back rather than rebuilt here. */
const MAX_JSON_DEPTH = 100;

/**
 * A JSON value as it reads back from a jsonb column: what `JSON.stringify` sends (non-finite numbers become null),
 * with every object's keys in jsonb's order: shorter keys (in UTF-8 bytes) first, equal lengths by their bytes.
 * (JavaScript then lists integer-like keys first, as it does for the parsed text.) Numbers read back equal:
 * PostgreSQL keeps the exact decimal that JSON.stringify wrote. A value that reads back as it is, is returned itself
 * (no copy to allocate); NOT_JSON for anything that is not plain JSON data.
 */
export function storedJsonb(value: unknown, depth: number): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'object' || depth > MAX_JSON_DEPTH) return NOT_JSON;
  if (Array.isArray(value)) {
    let items: unknown[] | undefined; // a copy, once an item differs
    for (let index = 0; index < value.length; index++) {
      const item = storedJsonb(value[index], depth + 1);
      if (item === NOT_JSON) return NOT_JSON;
      if (item !== value[index] && !items) items = value.slice(0, index);
      items?.push(item);
    }
    return items ?? value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return NOT_JSON;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  let inOrder = true;
  for (let index = 1; index < keys.length && inOrder; index++)
    inOrder = jsonbKeyOrder(keys[index - 1], keys[index]) < 0;
  if (!inOrder) keys.sort(jsonbKeyOrder);
  let result: Record<string, unknown> | undefined = inOrder ? undefined : {}; // a copy, once anything differs
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index];
    if (key === '__proto__') return NOT_JSON; // assigning it would set the prototype, not a key
    const item = storedJsonb(object[key], depth + 1);
    if (item === NOT_JSON) return NOT_JSON;
    if (item !== object[key] && !result) {
      result = {};
      for (const earlier of keys.slice(0, index)) result[earlier] = object[earlier];
    }
    if (result) result[key] = item;
  }
  return result ?? object;
}

/** jsonb's order of object keys: shorter (in UTF-8 bytes) first, equal lengths by their bytes. */
export function jsonbKeyOrder(a: string, b: string): number {
  const aBytes = Buffer.byteLength(a);
  const bBytes = Buffer.byteLength(b);
  if (aBytes !== bBytes) return aBytes - bBytes;
  // All-ASCII (as many bytes as UTF-16 units): UTF-16 order is byte order.
  if (aBytes === a.length && bBytes === b.length) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
