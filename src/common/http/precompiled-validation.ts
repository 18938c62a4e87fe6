import type { MetadataStorage as TransformerMetadataStorage } from 'class-transformer/types/MetadataStorage';
import type { ClassTransformOptions } from 'class-transformer';
import { TransformationType } from 'class-transformer';
import { getMetadataStorage, ValidationArguments, ValidationTypes, ValidatorOptions } from 'class-validator';

/*
 * Why this exists: the global ValidationPipe runs class-transformer's plainToInstance and then class-validator's
 * validate(). Both look their metadata up again for every object (class-validator scans its whole metadata map per
 * object and allocates an error record per property, passing or not), which made validation the largest cost of a
 * 1000-item POST /activities/batch (about a fifth of the CPU profile, more with the garbage it left).
 *
 * A class marked @PrecompiledValidation() gets, on first use, a checker compiled from the very same metadata: the
 * same @Type and @Transform steps, then the same rules, calling the same constraint instances class-validator calls
 * with the same arguments. It is only a fast path: it answers "accepted, and here is the DTO plainToInstance would
 * have built" or "not sure". Whenever it is not sure (a rule fails, a value is not plain JSON, a key that
 * class-transformer or the pipe would drop or strip, a decorator it does not model), the pipe runs the full
 * class-transformer + class-validator path, so every error and every unusual input is still handled there.
 * precompiled-validation.spec.ts checks on many generated inputs that whatever it accepts, class-validator accepts
 * with an equal result.
 */

/* eslint-disable @typescript-eslint/no-require-imports -- internal modules of class-transformer, without typings */
// class-transformer exports its metadata storage only from this internal module (@nestjs/mapped-types reads it too).
export const { defaultMetadataStorage: transformerStorage } = require('class-transformer/cjs/storage') as {
  defaultMetadataStorage: TransformerMetadataStorage;
};
// The options object plainToInstance hands to @Transform functions when the pipe gives none.
const { defaultOptions: transformerDefaults } = require('class-transformer/cjs/constants/default-options.constant') as {
  defaultOptions: ClassTransformOptions;
};
/* eslint-enable @typescript-eslint/no-require-imports */

type Class = new () => object;
/** A DTO class, as the pipe's metadata gives it. */
export type DtoClass = abstract new (...args: never[]) => unknown;
type ValidationMetadata = ReturnType<ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']>[number];
type TypeMetadata = ReturnType<TransformerMetadataStorage['findTypeMetadata']>;
type TransformMetadata = ReturnType<TransformerMetadataStorage['findTransformMetadatas']>[number];
type ConstraintMetadata = ReturnType<ReturnType<typeof getMetadataStorage>['getTargetValidatorConstraints']>[number];

/** "Not sure": let class-transformer and class-validator decide. */
const DECLINE = Symbol('decline');
type Checker = (plain: Record<string, unknown>) => object | typeof DECLINE;

/** Deeper JSON than this is left to the full path (which is where a stack overflow would belong too). */
const MAX_DEPTH = 64;
/** Types class-transformer converts values to (String(value), new Date(value), ...): not modelled here. */
const CONVERTED_TYPES: unknown[] = [String, Number, Boolean, Date, Buffer, Map, Set, Promise];

const marked = new WeakSet<DtoClass>();

/**
 * Opts a body DTO into the precompiled fast path of the validation pipe (the classes it nests via @Type come along).
 * Worth it for bodies validated at high volume; the result and the errors are the same either way.
 */
export function PrecompiledValidation(): ClassDecorator {
  return (target) => {
    marked.add(target as unknown as DtoClass);
  };
}

interface CustomRule {
  metadata: ValidationMetadata;
  constraints: ConstraintMetadata[];
}

interface PropertyPlan {
  name: string;
  type?: TypeMetadata;
  transforms: TransformMetadata[];
  conditions: ((object: object, value: unknown) => boolean)[];
  rules: CustomRule[];
  nested: boolean;
}

class Unsupported extends Error {}

/**
 * Compiles and runs the checkers. Built for the pipe's validator options: `whitelist` with `forbidNonWhitelisted`,
 * no groups, no `forbidUnknownValues` and no skipping of missing properties (with other options nothing compiles, so
 * nothing is fast-pathed), and for plainToInstance's default options (the pipe sets no `transformOptions`).
 */
export class PrecompiledValidator {
  private readonly checkers = new Map<DtoClass, Checker | null>();
  private readonly supported: boolean;

  constructor(options: ValidatorOptions) {
    this.supported =
      options.whitelist === true &&
      options.forbidNonWhitelisted === true &&
      options.forbidUnknownValues !== true && // Nest's default is false
      !options.groups?.length &&
      !options.always &&
      !options.strictGroups &&
      !options.skipMissingProperties &&
      !options.skipNullProperties &&
      !options.skipUndefinedProperties;
  }

  /**
   * The DTO instance that plainToInstance(metatype, value) would build and validate() would pass, or undefined when
   * the class is not marked, cannot be compiled, or the value is not one it is sure about.
   */
  transform(metatype: DtoClass, value: unknown): object | undefined {
    if (!marked.has(metatype) || !(isPlainObject(value) || isQueryObject(value))) return undefined;
    const checker = this.checkerFor(metatype);
    if (!checker) return undefined;
    const result = checker(value);
    return result === DECLINE ? undefined : result;
  }

  /** Whether the class compiles to a checker (tests use this to catch a DTO that silently lost its fast path). */
  isCompiled(metatype: DtoClass): boolean {
    return this.checkerFor(metatype) !== null;
  }

  private checkerFor(cls: DtoClass): Checker | null {
    let checker = this.checkers.get(cls);
    if (checker === undefined) {
      try {
        checker = this.supported ? this.compile(cls as Class) : null;
      } catch (error) {
        if (!(error instanceof Unsupported)) throw error;
        checker = null;
      }
      this.checkers.set(cls, checker);
    }
    return checker;
  }

  private compile(cls: Class): Checker {
    const validatorStorage = getMetadataStorage();
    // What class-validator's execute() reads for an instance of `cls` (undefined schema: validate(object) has none).
    const metadatas = validatorStorage.getTargetValidationMetadatas(cls, undefined as unknown as string, false, false);
    const byProperty = new Map<string, ValidationMetadata[]>();
    for (const metadata of metadatas) {
      const list = byProperty.get(metadata.propertyName) ?? [];
      list.push(metadata);
      byProperty.set(metadata.propertyName, list);
    }

    // class-transformer: the keys of the input are copied, none renamed, exposed or excluded.
    if (
      transformerStorage.getStrategy(cls) !== 'none' ||
      transformerStorage.getExposedProperties(cls, TransformationType.PLAIN_TO_CLASS).length > 0 ||
      transformerStorage.getExcludedProperties(cls, TransformationType.PLAIN_TO_CLASS).length > 0
    ) {
      throw new Unsupported();
    }
    // A field the class itself sets (a declared field is an own property, even undefined) must be one that
    // whitelisting allows, and not a method that class-transformer would refuse to overwrite.
    const blank = new cls() as Record<string, unknown>;
    for (const key of Object.keys(blank)) {
      if (!byProperty.has(key) || typeof blank[key] === 'function') throw new Unsupported();
    }

    const plans = new Map<string, PropertyPlan>();
    for (const [name, list] of byProperty) {
      // Names that class-transformer skips (methods and accessors of the class, constructor, toString, ...) or the
      // pipe strips (prototype).
      if (name in cls.prototype || name === 'prototype') throw new Unsupported();
      const plan: PropertyPlan = {
        name,
        type: transformerStorage.findTypeMetadata(cls, name),
        transforms: transformerStorage
          .findTransformMetadatas(cls, name, TransformationType.PLAIN_TO_CLASS)
          .filter((metadata) => !metadata.options?.groups?.length),
        conditions: [],
        rules: [],
        nested: false,
      };
      if (plan.type?.options?.discriminator) throw new Unsupported();
      for (const metadata of list) {
        switch (metadata.type) {
          case ValidationTypes.CONDITIONAL_VALIDATION:
            plan.conditions.push(metadata.constraints[0] as PropertyPlan['conditions'][number]);
            break;
          case ValidationTypes.CUSTOM_VALIDATION: {
            const constraints = validatorStorage.getTargetValidatorConstraints(metadata.constraintCls);
            if (constraints.some((constraint) => constraint.async)) throw new Unsupported();
            plan.rules.push({ metadata, constraints });
            break;
          }
          case ValidationTypes.NESTED_VALIDATION:
            // Without @Type the nested value stays a plain object, which whitelisting then rejects: not modelled.
            if (!plan.type) throw new Unsupported();
            plan.nested = true;
            break;
          case ValidationTypes.WHITELIST:
            break;
          default:
            // IS_DEFINED, PROMISE_VALIDATION and whatever a later class-validator adds.
            throw new Unsupported();
        }
      }
      plans.set(name, plan);
    }
    const planList = [...plans.values()];
    const targetName = cls.name;

    return (plain) => {
      // plainToInstance: a new instance, then each key of the input in its order: @Type, then the @Transforms.
      const instance = new cls() as Record<string, unknown>;
      for (const key of Object.keys(plain)) {
        const plan = plans.get(key);
        if (!plan) return DECLINE; // whitelisting would reject it (or class-transformer / the pipe drop it)
        let value = this.transformValue(plain[key], plan, plain, instance);
        if (value === DECLINE) return DECLINE;
        for (const transform of plan.transforms) {
          value = transform.transformFn({
            value,
            key,
            obj: plain,
            type: TransformationType.PLAIN_TO_CLASS,
            options: transformerDefaults,
          }) as unknown;
        }
        instance[key] = value;
      }
      // validate(): per property, the conditions (@IsOptional) decide whether its rules run at all.
      for (const plan of planList) {
        const value = instance[plan.name];
        let applies = true;
        for (const condition of plan.conditions) applies = condition(instance, value) && applies;
        if (!applies) continue;
        for (const { metadata, constraints } of plan.rules) {
          if (metadata.validateIf && !metadata.validateIf(instance, value)) continue;
          for (const constraint of constraints) {
            const args: ValidationArguments = {
              targetName,
              property: metadata.propertyName,
              object: instance,
              value,
              constraints: metadata.constraints,
            };
            if (metadata.each && (Array.isArray(value) || value instanceof Set || value instanceof Map)) {
              if (value instanceof Set || value instanceof Map) return DECLINE;
              for (const item of value as unknown[]) {
                if (!passes(constraint.instance.validate(item, args))) return DECLINE;
              }
            } else if (!passes(constraint.instance.validate(value, args))) {
              return DECLINE;
            }
          }
        }
        // Nested objects were built by their own checkers, which validated them; what remains is class-validator's
        // "nested property must be either object or array" for anything else.
        if (plan.nested && !nestedShapeValid(value)) return DECLINE;
      }
      return instance;
    };
  }

  /** A property's value as class-transformer's transform() makes it, or DECLINE. */
  private transformValue(
    value: unknown,
    plan: PropertyPlan,
    plain: Record<string, unknown>,
    instance: object,
  ): unknown {
    if (!plan.type) {
      // No @Type: plain JSON is copied as it is, provided nothing in it is dropped or stripped on the way.
      return isNeutralJson(value, 0) ? value : DECLINE;
    }
    const type: unknown = plan.type.typeFunction
      ? plan.type.typeFunction({ newObject: instance, object: plain, property: plan.name })
      : plan.type.reflectedType;
    if (typeof type !== 'function' || CONVERTED_TYPES.includes(type)) return DECLINE;
    if (Array.isArray(value)) {
      // The array class-transformer creates comes from the property's reflected type: a plain array for these.
      const arrayType: unknown = plan.type.reflectedType;
      if (arrayType !== undefined && arrayType !== Array && arrayType !== Object) return DECLINE;
    }
    return this.transformTyped(value, type as Class, 0);
  }

  private transformTyped(value: unknown, type: Class, depth: number): unknown {
    if (Array.isArray(value)) {
      if (depth > MAX_DEPTH) return DECLINE;
      const items = new Array<unknown>(value.length);
      for (let index = 0; index < value.length; index++) {
        if (!(index in value)) return DECLINE; // a gap: the pipe closes those first
        const item = this.transformTyped(value[index], type, depth + 1);
        if (item === DECLINE) return DECLINE;
        items[index] = item;
      }
      return items;
    }
    if (isPlainObject(value)) {
      const checker = this.checkerFor(type);
      return checker ? checker(value) : DECLINE;
    }
    if (value !== null && typeof value === 'object') return DECLINE;
    return value; // a primitive is kept as it is (the rules then decide)
  }
}

function passes(result: unknown): boolean {
  // A promise would be an async constraint: those classes are not compiled, but never take one for a pass.
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    return false;
  }
  return Boolean(result);
}

/**
 * class-validator's nested validation of a value built with @Type: undefined is skipped, arrays are looked into
 * item by item, objects are validated (already done by their checker); null and primitives are errors.
 */
function nestedShapeValid(value: unknown): boolean {
  if (value === undefined) return true;
  if (Array.isArray(value)) return value.every(nestedShapeValid);
  return value !== null && typeof value === 'object';
}

/**
 * A query string as Fastify's router parses it (fast-querystring): an object that inherits nothing, its prototype
 * null or an empty object whose own prototype is null. The checker looks every key up in its own map of the class's
 * properties, so no name can reach anything else.
 */
function isQueryObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as object | null;
  return prototype === null || (Object.getPrototypeOf(prototype) === null && Reflect.ownKeys(prototype).length === 0);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/**
 * Plain JSON that class-transformer's copy and the pipe's prototype-key stripping leave equal to itself: no key
 * they drop (`constructor`, `prototype`, `__proto__`, or any other name on Object.prototype such as `toString`),
 * no gaps in arrays, nothing but JSON's own values, and not deeper than MAX_DEPTH.
 */
function isNeutralJson(value: unknown, depth: number): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      if (!(index in value) || !isNeutralJson(value[index], depth + 1)) return false;
    }
    return true;
  }
  if (!isPlainObject(value)) return false;
  for (const key of Object.keys(value)) {
    if (key in Object.prototype || key === 'prototype' || !isNeutralJson(value[key], depth + 1)) return false;
  }
  return true;
}
