import { HttpStatus } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { getMetadataStorage } from 'class-validator';
import { randomUUID } from 'node:crypto';
import { AppException, FieldError } from './app.exception';
import { transformerStorage } from './precompiled-validation';

/*
 * Why this exists: free-form JSON fields (an activity's `metadata`, a context's `additionalInfo`) must reach the
 * handler exactly as the client sent them, and class-transformer cannot carry arbitrary JSON. It silently drops
 * keys named like Object.prototype members (`toString`, `valueOf`, `__proto__`, ...), and throws on others
 * (`{"constructor": 2}`: a TypeError, so a 500). The validation pipe therefore lifts such values out of a body
 * before class-transformer sees it, leaving an opaque token in their place, and the field's @FreeJson() transform
 * swaps the original back in: validators and handlers see the value exactly as JSON.parse made it.
 * The same walk refuses body fields that class-transformer would drop without a word (a field named `toString`
 * is as unknown as any other: 400).
 */

type Class = abstract new (...args: never[]) => unknown;

const freeJsonFields = new WeakMap<object, Set<string>>();
/** Values lifted out of bodies being validated now, by token; each request removes its own when done. */
const lifted = new Map<string, unknown>();
const TOKEN_PREFIX = '\u0000logbook-free-json:';

/**
 * Marks a free-form JSON object field: it is passed through as parsed, not rebuilt by class-transformer. Validate it
 * with the usual decorators (@IsObject and the like); they see the original value.
 */
export function FreeJson(): PropertyDecorator {
  const restore = Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && value.startsWith(TOKEN_PREFIX) && lifted.has(value) ? lifted.get(value) : value,
  );
  return (target, property) => {
    const fields = freeJsonFields.get(target.constructor) ?? new Set<string>();
    fields.add(String(property));
    freeJsonFields.set(target.constructor, fields);
    restore(target, property);
  };
}

/** A body made safe for class-transformer, and the tokens to forget once it is validated. */
export interface LiftedBody {
  body: Record<string, unknown>;
  tokens: string[];
}

/**
 * Lifts the free-form JSON values of a `dto`-shaped body out (following its nested @Type classes), and refuses
 * fields that class-transformer would drop unseen. Returns the body unchanged (no copy) when it has none of either.
 */
export function liftFreeJson(dto: Class, body: Record<string, unknown>): LiftedBody {
  const tokens: string[] = [];
  const errors: FieldError[] = [];
  let prefix: string | undefined; // made for the first value lifted: most bodies have none
  const walk = (cls: Class, plain: Record<string, unknown>, path: string): Record<string, unknown> => {
    const { declared, free, nested } = shapeOf(cls);
    let copy: Record<string, unknown> | undefined;
    for (const key of Object.keys(plain)) {
      const value = plain[key];
      let replaced = value;
      if (!declared.has(key) && key in Object.prototype) {
        errors.push({ field: path ? `${path}.${key}` : key, message: `property ${key} should not exist` });
      } else if (free.has(key) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        prefix ??= `${TOKEN_PREFIX}${randomUUID()}:`;
        const token = `${prefix}${tokens.length}`;
        tokens.push(token);
        lifted.set(token, value);
        replaced = token;
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
  if (errors.length) {
    forget(tokens);
    throw new AppException(HttpStatus.BAD_REQUEST, 'validationFailed', {}, errors);
  }
  return { body: result, tokens };
}

/** Drops what a body's validation lifted out (the DTO it built holds the originals now). */
export function forget(tokens: string[]): void {
  for (const token of tokens) lifted.delete(token);
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
    const target = cls as unknown as new () => object;
    const metadatas = getMetadataStorage().getTargetValidationMetadatas(
      target,
      undefined as unknown as string,
      false,
      false,
    );
    const declared = new Set(metadatas.map((metadata) => metadata.propertyName));
    const nested = new Map<string, Class>();
    for (const key of declared) {
      const type = transformerStorage.findTypeMetadata(target, key);
      const nestedClass = type?.typeFunction?.({ newObject: undefined, object: {}, property: key }) as
        Class | undefined;
      if (typeof nestedClass === 'function' && nestedClass !== Object) nested.set(key, nestedClass);
    }
    shape = { declared, free: freeJsonFields.get(cls) ?? new Set(), nested };
    shapes.set(cls, shape);
  }
  return shape;
}
