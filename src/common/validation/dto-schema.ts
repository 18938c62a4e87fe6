import Ajv, { SchemaObject, SchemaValidateFunction, ValidateFunction } from 'ajv';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, ValidationArguments, ValidationTypes, ValidatorOptions } from 'class-validator';

/*
 * Why this exists: class-validator's validate() looks a class's metadata up again for every object and allocates an
 * error record per property, passing or not: on a 1000-item POST /activities/batch that was most of the request's
 * CPU. A class marked @CompiledSchema() is also checked by an Ajv schema compiled once from its class-validator
 * metadata (the DTO stays the one source of truth). The schema runs on the instance plainToInstance built, as
 * validate() would, and calls class-validator's own constraint functions for every rule; Ajv brings the structure
 * (whitelisting, nesting, arrays). It only answers "valid" or "not sure": on "not sure" the pipe runs validate(),
 * which writes the errors. Anything it does not model leaves the class uncompiled (always the full path).
 */

/** A DTO class, as the pipe's metadata gives it. */
export type DtoClass = abstract new (...args: never[]) => unknown;
type Class = new () => object;
type ValidationMetadata = ReturnType<ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']>[number];
type ConstraintMetadata = ReturnType<ReturnType<typeof getMetadataStorage>['getTargetValidatorConstraints']>[number];

const marked = new WeakSet<DtoClass>();

/** Opts a DTO into the compiled check of the validation pipe (the classes it nests come along). */
export function CompiledSchema(): ClassDecorator {
  return (target) => {
    marked.add(target as unknown as DtoClass);
  };
}

/** The metadata class-validator's executor reads for an instance of `cls` with the pipe's options (no groups). */
export function validationMetadataOf(cls: DtoClass): ValidationMetadata[] {
  return getMetadataStorage().getTargetValidationMetadatas(cls, undefined as unknown as string, false, false);
}

/** The properties a DTO validates, and so accepts (the pipe whitelists: every accepted property has a rule). */
export function declaredProperties(cls: DtoClass): Set<string> {
  return new Set(validationMetadataOf(cls).map((metadata) => metadata.propertyName));
}

/**
 * The class a property's @Type builds, found through class-transformer's public API: an object given for it comes
 * out as an instance of that class (undefined when it stays a plain object, or the property has no @Type).
 */
export function nestedClassOf(cls: DtoClass, property: string): Class | undefined {
  try {
    const probe = plainToInstance(cls as unknown as Class, { [property]: {} }) as Record<string, unknown>;
    const value = probe[property];
    const type = value !== null && typeof value === 'object' ? (value.constructor as Class | undefined) : undefined;
    return typeof type === 'function' && type !== Object ? type : undefined;
  } catch {
    return undefined;
  }
}

/** A property's rules: the conditions (@IsOptional, @ValidateIf) that gate them, and the constraints. */
interface PropertyRules {
  name: string;
  targetName: string;
  conditions: ((object: object, value: unknown) => boolean)[];
  rules: { metadata: ValidationMetadata; constraints: ConstraintMetadata[] }[];
}

interface ClassRules {
  cls: Class;
  properties: PropertyRules[];
}

class Unsupported extends Error {}

/**
 * Compiles and runs the schemas. Models the pipe's validator options: `whitelist` with `forbidNonWhitelisted`, no
 * groups, no skipping of missing properties, `forbidUnknownValues` off.
 */
export class DtoSchemas {
  private readonly ajv: Ajv;
  private readonly validators = new Map<DtoClass, ValidateFunction | null>();
  /** Looked up by index from the schemas (Ajv keeps schemas as data). */
  private readonly classes: ClassRules[] = [];

  /** With other validator options than those it models, nothing compiles (everything takes the full path). */
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
      !options.skipUndefinedProperties &&
      !options.stopAtFirstError;
    this.ajv = new Ajv({ allErrors: false, strict: true, strictTypes: false });
    const classes = this.classes;
    // The object is exactly the class (validate() reads the metadata of the object's own class), and every property
    // passes its rules as class-validator runs them, present or not.
    this.ajv.addKeyword({
      keyword: 'dtoRules',
      schemaType: 'number',
      validate: (index: number, data: unknown) => passesClass(classes[index], data),
    });
    // True when a condition (@IsOptional on null or undefined) says a nested property is not looked into.
    const isSkipped: SchemaValidateFunction = ([index, property]: number[], data: unknown, _schema, context) =>
      skipped(classes[index].properties[property], context!.parentData, data);
    this.ajv.addKeyword({
      keyword: 'dtoSkipped',
      schemaType: 'array',
      validate: isSkipped,
    });
  }

  /** Whether the class is marked @CompiledSchema(). */
  isMarked(metatype: DtoClass): boolean {
    return marked.has(metatype);
  }

  /** Whether `instance` (as plainToInstance built it) passes validate(); false also means "not sure". */
  accepts(metatype: DtoClass, instance: unknown): boolean {
    if (!marked.has(metatype)) return false;
    const validator = this.validatorFor(metatype);
    return validator !== null && validator(instance);
  }

  /** Whether the class compiles (tests use this to catch a DTO that silently lost its compiled check). */
  isCompiled(metatype: DtoClass): boolean {
    return this.validatorFor(metatype) !== null;
  }

  private validatorFor(cls: DtoClass): ValidateFunction | null {
    let validator = this.validators.get(cls);
    if (validator === undefined) {
      try {
        if (!this.supported) throw new Unsupported();
        validator = this.ajv.compile(this.schemaOf(cls as unknown as Class, []));
      } catch (error) {
        if (!(error instanceof Unsupported)) throw error;
        validator = null;
      }
      this.validators.set(cls, validator);
    }
    return validator;
  }

  private schemaOf(cls: Class, within: Class[]): SchemaObject {
    if (within.includes(cls)) throw new Unsupported(); // a recursive DTO: not modelled
    const storage = getMetadataStorage();
    const metadatas = validationMetadataOf(cls);
    if (!metadatas.length) throw new Unsupported();
    const byProperty = new Map<string, ValidationMetadata[]>();
    for (const metadata of metadatas) {
      byProperty.set(metadata.propertyName, [...(byProperty.get(metadata.propertyName) ?? []), metadata]);
    }
    const rules: ClassRules = { cls, properties: [] };
    this.classes.push(rules);
    const index = this.classes.length - 1;
    const properties: Record<string, SchemaObject | boolean> = {};
    for (const [name, list] of byProperty) {
      const property: PropertyRules = { name, targetName: cls.name, conditions: [], rules: [] };
      rules.properties.push(property);
      let nested = false;
      for (const metadata of list) {
        switch (metadata.type) {
          case ValidationTypes.CONDITIONAL_VALIDATION:
            property.conditions.push(metadata.constraints[0] as PropertyRules['conditions'][number]);
            break;
          case ValidationTypes.CUSTOM_VALIDATION: {
            const constraints = storage.getTargetValidatorConstraints(metadata.constraintCls);
            if (constraints.some((constraint) => constraint.async)) throw new Unsupported();
            property.rules.push({ metadata, constraints });
            break;
          }
          case ValidationTypes.NESTED_VALIDATION:
            nested = true;
            break;
          case ValidationTypes.WHITELIST:
            break;
          default:
            // IS_DEFINED, PROMISE_VALIDATION and whatever a later class-validator adds.
            throw new Unsupported();
        }
      }
      properties[name] = true;
      if (nested) {
        // Without @Type the value stays a plain object, which validate() would then refuse field by field.
        const type = nestedClassOf(cls, name);
        if (!type) throw new Unsupported();
        const inner = this.schemaOf(type, [...within, cls]);
        // Nested validation looks into arrays item by item; a nested array is left to the full path.
        const checked = { if: { type: 'array' }, then: { items: inner }, else: inner };
        properties[name] = property.conditions.length
          ? { if: { dtoSkipped: [index, rules.properties.length - 1] }, then: true, else: checked }
          : checked;
      }
    }
    return { type: 'object', dtoRules: index, properties, additionalProperties: false }; // whitelist
  }
}

/** What class-validator's execute() decides for an object's own properties (its nested ones aside). */
function passesClass(rules: ClassRules, object: unknown): boolean {
  if (typeof object !== 'object' || object === null || Object.getPrototypeOf(object) !== rules.cls.prototype) {
    return false;
  }
  for (const property of rules.properties) {
    const value = (object as Record<string, unknown>)[property.name];
    if (!skipped(property, object, value) && !passesRules(property, object, value)) return false;
  }
  return true;
}

/** Whether class-validator's conditionalValidations() skip the property's rules. */
function skipped(property: PropertyRules, object: object, value: unknown): boolean {
  for (const condition of property.conditions) if (!condition(object, value)) return true;
  return false;
}

/** What class-validator's customValidations() decides for one property, with the same arguments. */
function passesRules(property: PropertyRules, object: object, value: unknown): boolean {
  for (const { metadata, constraints } of property.rules) {
    if (metadata.validateIf && !metadata.validateIf(object, value)) continue;
    const args: ValidationArguments = {
      targetName: property.targetName,
      property: metadata.propertyName,
      object,
      value,
      constraints: metadata.constraints,
    };
    for (const { instance } of constraints) {
      if (metadata.each && (Array.isArray(value) || value instanceof Set || value instanceof Map)) {
        for (const item of Array.isArray(value) ? value : [...value.values()]) {
          if (!passes(instance.validate(item, args))) return false;
        }
      } else if (!passes(instance.validate(value, args))) {
        return false;
      }
    }
  }
  return true;
}

function passes(result: unknown): boolean {
  // A promise would be an async constraint: those classes are not compiled, but never take one for a pass.
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    return false;
  }
  return result === true;
}
