import { HttpStatus } from '@nestjs/common';
import { TransformValue } from '../validation/dto-builder';
import { declaredProperties, nestedClassOf } from '../validation/dto-schema';
import { AppException, FieldError } from './app.exception';

/*
 * Why this exists: free-form JSON fields (an activity's `metadata`, a context's `additionalInfo`) must reach the
 * handler exactly as the client sent them, and class-transformer cannot carry arbitrary JSON. It silently drops
 * keys named like Object.prototype members (`toString`, `valueOf`, `__proto__`, ...), and throws on others
 * (`{"constructor": 2}`: a TypeError, so a 500). The validation pipe therefore wraps such values in a function
 * before class-transformer sees the body (it copies functions as they are), and the field's @FreeJson() transform
 * unwraps it: validators and handlers see the value exactly as JSON.parse made it. The value travels with the body,
 * so nothing is kept between requests.
 * The same walk refuses body fields that class-transformer would drop without a word (a field named `toString`
 * is as unknown as any other: 400).
 */

type Class = abstract new (...args: never[]) => unknown;

const freeJsonFields = new WeakMap<object, Set<string>>();
const WRAPPED = Symbol('free JSON');
type Wrapped = (() => unknown) & { [WRAPPED]: true };

const wrap = (value: unknown): Wrapped => Object.assign(() => value, { [WRAPPED]: true as const });
const isWrapped = (value: unknown): value is Wrapped =>
  typeof value === 'function' && (value as Partial<Wrapped>)[WRAPPED] === true;

/**
 * Marks a free-form JSON object field: it is passed through as parsed, not rebuilt by class-transformer. Validate it
 * with the usual decorators (@IsObject and the like); they see the original value.
 */
export function FreeJson(): PropertyDecorator {
  const unwrap = TransformValue((value) => (isWrapped(value) ? value() : value));
  return (target, property) => {
    const fields = freeJsonFields.get(target.constructor) ?? new Set<string>();
    fields.add(String(property));
    freeJsonFields.set(target.constructor, fields);
    unwrap(target, property);
  };
}

/**
 * A `dto`-shaped body made safe for class-transformer: its free-form JSON values wrapped (following its nested @Type
 * classes), and fields that class-transformer would drop unseen refused. Returns the body unchanged (no copy) when
 * it has none of either.
 */
export function wrapFreeJson(dto: Class, body: Record<string, unknown>): Record<string, unknown> {
  const errors: FieldError[] = [];
  const walk = (cls: Class, plain: Record<string, unknown>, path: string): Record<string, unknown> => {
    const { declared, free, nested } = shapeOf(cls);
    let copy: Record<string, unknown> | undefined;
    for (const key of Object.keys(plain)) {
      const value = plain[key];
      let replaced = value;
      if (!declared.has(key) && key in Object.prototype) {
        errors.push({ field: path ? `${path}.${key}` : key, message: `property ${key} should not exist` });
      } else if (free.has(key) && value !== null && typeof value === 'object') {
        // Arrays too: class-transformer would walk their objects as well (an array is then refused by its rules).
        replaced = wrap(value);
      } else if (value !== null && typeof value === 'object' && nested.has(key)) {
        replaced = walkValue(nested.get(key)!, value, path ? `${path}.${key}` : key);
      }
      if (replaced !== value) {
        copy ??= { ...plain };
        copy[key] = replaced;
      }
    }
    return copy ?? plain;
  };
  const walkValue = (cls: Class, value: object, path: string): unknown => {
    if (!Array.isArray(value)) return walk(cls, value as Record<string, unknown>, path);
    let copy: unknown[] | undefined;
    value.forEach((item: unknown, index) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) return;
      const replaced = walk(cls, item as Record<string, unknown>, `${path}[${index}]`);
      if (replaced !== item) {
        copy ??= [...(value as unknown[])];
        copy[index] = replaced;
      }
    });
    return copy ?? value;
  };
  const result = walk(dto, body, '');
  if (errors.length) throw new AppException(HttpStatus.BAD_REQUEST, 'validationFailed', {}, errors);
  return result;
}

/** What the walk needs of a DTO class, read from its metadata once. */
interface Shape {
  /** The fields it validates, and so accepts (the pipe whitelists: every accepted field has a rule). */
  declared: Set<string>;
  free: Set<string>;
  /** Fields holding a nested DTO (or an array of them), by @Type. */
  nested: Map<string, Class>;
}

const shapes = new WeakMap<Class, Shape>();

function shapeOf(cls: Class): Shape {
  let shape = shapes.get(cls);
  if (!shape) {
    const declared = declaredProperties(cls);
    const nested = new Map<string, Class>();
    for (const key of declared) {
      const nestedClass = nestedClassOf(cls, key);
      if (nestedClass) nested.set(key, nestedClass);
    }
    shape = { declared, free: freeJsonFields.get(cls) ?? new Set(), nested };
    shapes.set(cls, shape);
  }
  return shape;
}
