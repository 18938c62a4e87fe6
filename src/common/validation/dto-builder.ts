import { plainToInstance, Transform } from 'class-transformer';
import { declaredProperties, nestedClassOf } from './dto-schema';

/*
 * Why this exists: plainToInstance looks every key of every object up in class-transformer's metadata, which on a
 * 1000-item batch costs more than validating it. A DTO whose value transforms are all declared with
 * TransformValue() (which registers them with class-transformer as well) can be built by a walk that knows its
 * nested classes and transforms up front. Whether a class can is checked once, through public APIs only: the walk
 * must build what plainToInstance builds for probe values of every property, else the class keeps plainToInstance.
 */

type Class = new () => object;
/** A class as decorators and the pipe's metadata give it. */
type AnyClass = abstract new (...args: never[]) => unknown;
type ValueTransform = (value: unknown) => unknown;

const transformsByClass = new Map<AnyClass, Map<string, ValueTransform>>();

/** A @Transform of the value alone, which the pipe's fast path can also apply without class-transformer. */
export function TransformValue(transform: ValueTransform): PropertyDecorator {
  const decorate = Transform(({ value }: { value: unknown }) => transform(value));
  return (target, property) => {
    const own = transformsByClass.get(target.constructor as AnyClass) ?? new Map<string, ValueTransform>();
    own.set(String(property), transform);
    transformsByClass.set(target.constructor as AnyClass, own);
    decorate(target, property);
  };
}

/**
 * For a class made by a mapped type (IntersectionType and the like), which copies its sources' class-transformer
 * metadata but is no subclass of them: their TransformValue() transforms apply to it too.
 */
export function TransformsOf(...sources: AnyClass[]): ClassDecorator {
  return (target) => {
    const merged = new Map<string, ValueTransform>();
    for (const source of sources) for (const [name, transform] of transformsOf(source)) merged.set(name, transform);
    transformsByClass.set(target as unknown as AnyClass, merged);
  };
}

/** The TransformValue() transforms of a class and of the classes it extends. */
function transformsOf(cls: AnyClass): Map<string, ValueTransform> {
  const transforms = new Map<string, ValueTransform>();
  for (let type: AnyClass | null = cls; type && type !== Object; type = Object.getPrototypeOf(type) as AnyClass) {
    for (const [name, transform] of transformsByClass.get(type) ?? []) {
      if (!transforms.has(name)) transforms.set(name, transform);
    }
  }
  return transforms;
}

interface Plan {
  cls: Class;
  nested: Map<string, Plan>;
  transforms: Map<string, ValueTransform>;
}

/** Values that a transform of ours changes, or a stray @Transform would: trimmed, split, parsed, upper-cased. */
const PROBES: unknown[] = [' probe ', 'true', '12', 'a, b', '', null, 7, ['x'], {}];

/** Builds DTO instances as plainToInstance does, for the classes where it is sure to. */
export class DtoBuilder {
  private readonly plans = new Map<AnyClass, Plan | null>();

  /** The instance plainToInstance would build of `plain`, or undefined when this class is left to it. */
  build(cls: AnyClass, plain: Record<string, unknown>): object | undefined {
    const plan = this.planFor(cls);
    return plan ? buildWith(plan, plain) : undefined;
  }

  private planFor(cls: AnyClass): Plan | null {
    let plan = this.plans.get(cls);
    if (plan === undefined) {
      plan = planOf(cls as unknown as Class, []);
      if (plan && !agreesOnProbes(plan)) plan = null;
      this.plans.set(cls, plan);
    }
    return plan;
  }
}

function planOf(cls: Class, within: Class[]): Plan | null {
  if (within.includes(cls)) return null;
  const transforms = transformsOf(cls);
  const nested = new Map<string, Plan>();
  for (const name of declaredProperties(cls)) {
    const type = nestedClassOf(cls, name);
    if (!type) continue;
    const inner = planOf(type, [...within, cls]);
    if (!inner) return null;
    nested.set(name, inner);
  }
  return { cls, nested, transforms };
}

/** As plainToInstance: a new instance, its own keys copied, nested objects (and arrays of them) built, then transformed. */
function buildWith(plan: Plan, plain: Record<string, unknown>): object {
  const instance = new plan.cls() as Record<string, unknown>;
  const prototype = (instance.constructor as AnyClass).prototype as object;
  for (const key of Object.keys(plain)) {
    // Never set, as class-transformer never sets them: prototype keys, getters without a setter, and methods.
    if (key === '__proto__' || key === 'constructor') continue;
    const descriptor = Object.getOwnPropertyDescriptor(prototype, key);
    if ((descriptor && !descriptor.set) || instance[key] instanceof Function) continue;
    let value = plain[key];
    const inner = plan.nested.get(key);
    if (inner && value !== null && typeof value === 'object') {
      value = Array.isArray(value)
        ? value.map((item: unknown) =>
            item !== null && typeof item === 'object' && !Array.isArray(item)
              ? buildWith(inner, item as Record<string, unknown>)
              : item,
          )
        : buildWith(inner, value as Record<string, unknown>);
    }
    const transform = plan.transforms.get(key);
    instance[key] = transform ? transform(value) : value;
  }
  return instance;
}

/** Whether the walk builds what plainToInstance builds for each probe value of each property, at every level. */
function agreesOnProbes(plan: Plan): boolean {
  for (const name of declaredProperties(plan.cls)) {
    for (const probe of PROBES) {
      const plain = { [name]: probe };
      if (!sameBuild(plainToInstance(plan.cls, plain), buildWith(plan, plain))) return false;
    }
  }
  return [...plan.nested.values()].every(agreesOnProbes);
}

function sameBuild(expected: unknown, actual: unknown): boolean {
  if (expected === actual) return true;
  if (typeof expected !== 'object' || typeof actual !== 'object' || expected === null || actual === null) {
    return Number.isNaN(expected) && Number.isNaN(actual);
  }
  if (Object.getPrototypeOf(expected) !== Object.getPrototypeOf(actual)) return false;
  const keys = Object.keys(expected);
  if (keys.length !== Object.keys(actual).length) return false;
  return keys.every((key) =>
    sameBuild((expected as Record<string, unknown>)[key], (actual as Record<string, unknown>)[key]),
  );
}
