import { HttpStatus } from '@nestjs/common';
import type { MetadataStorage as TransformerMetadataStorage } from 'class-transformer/types/MetadataStorage';
import { Transform } from 'class-transformer';
import { getMetadataStorage } from 'class-validator';
import { randomUUID } from 'node:crypto';
import { AppException, FieldError } from './app.exception';

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

/* eslint-disable @typescript-eslint/no-require-imports -- class-transformer's metadata storage has no public export */
const { defaultMetadataStorage: transformerStorage } = require('class-transformer/cjs/storage') as {
  defaultMetadataStorage: TransformerMetadataStorage;
};
/* eslint-enable @typescript-eslint/no-require-imports */

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
  const prefix = `${TOKEN_PREFIX}${randomUUID()}:`;
  const walk = (cls: Class, plain: Record<string, unknown>, path: string): Record<string, unknown> => {
    const free = freeJsonFields.get(cls);
    const declared = declaredFields(cls);
    let copy: Record<string, unknown> | undefined;
    for (const key of Object.keys(plain)) {
      const value = plain[key];
      let replaced = value;
      if (!declared.has(key) && key in Object.prototype) {
        errors.push({ field: path ? `${path}.${key}` : key, message: `property ${key} should not exist` });
      } else if (free?.has(key) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const token = `${prefix}${tokens.length}`;
        tokens.push(token);
        lifted.set(token, value);
        replaced = token;
      } else if (value !== null && typeof value === 'object') {
        const nested = nestedClass(cls, key);
        if (nested) replaced = walkValue(nested, value, path ? `${path}.${key}` : key);
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
  const lifted_ = walk(dto, body, '');
  if (errors.length) {
    forget(tokens);
    throw new AppException(HttpStatus.BAD_REQUEST, 'validationFailed', {}, errors);
  }
  return { body: lifted_, tokens };
}

/** Drops what a body's validation lifted out (the DTO it built holds the originals now). */
export function forget(tokens: string[]): void {
  for (const token of tokens) lifted.delete(token);
}

const declared = new WeakMap<Class, Set<string>>();

/** The fields a DTO class validates, and so accepts (the pipe whitelists: every accepted field has a rule). */
function declaredFields(cls: Class): Set<string> {
  let fields = declared.get(cls);
  if (!fields) {
    const metadatas = getMetadataStorage().getTargetValidationMetadatas(
      cls,
      undefined as unknown as string,
      false,
      false,
    );
    fields = new Set(metadatas.map((metadata) => metadata.propertyName));
    declared.set(cls, fields);
  }
  return fields;
}

function nestedClass(cls: Class, key: string): Class | undefined {
  const type = transformerStorage.findTypeMetadata(cls, key);
  const nested = type?.typeFunction?.({ newObject: undefined, object: {}, property: key }) as Class | undefined;
  return typeof nested === 'function' && nested !== Object ? nested : undefined;
}
