import { ArgumentMetadata, HttpStatus, Injectable, ValidationError, ValidationPipe } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { DtoBuilder } from '../validation/dto-builder';
import { DtoClass, DtoSchemas } from '../validation/dto-schema';
import { AppException, FieldError } from './app.exception';
import { wrapFreeJson } from './free-json';
import { unstorableJson } from './storable-json';

const PRIMITIVES: unknown[] = [String, Number, Boolean, Array, Object];
/** Unknown fields are errors. */
const VALIDATOR_OPTIONS = { whitelist: true, forbidNonWhitelisted: true };

/**
 * The global validation pipe: unknown fields are rejected, values are transformed to the DTO's types, and every
 * failure is reported as `details: [{ field, message }]` with paths such as `items[3].action`.
 */
@Injectable()
export class AppValidationPipe extends ValidationPipe {
  /** Bodies and query strings of @CompiledSchema() DTOs that pass it skip class-validator's validate(). */
  private readonly schemas = new DtoSchemas(VALIDATOR_OPTIONS);
  private readonly builder = new DtoBuilder();

  constructor() {
    super({
      ...VALIDATOR_OPTIONS,
      transform: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors: ValidationError[]) =>
        new AppException(HttpStatus.BAD_REQUEST, 'validationFailed', {}, flattenValidationErrors(errors)),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const isDto = typeof metadata.metatype === 'function' && !PRIMITIVES.includes(metadata.metatype);
    if (metadata.type === 'body' && isDto) {
      if (value === undefined) value = {};
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new AppException(HttpStatus.BAD_REQUEST, 'validationFailed', {}, [
          { field: 'body', message: 'body must be a JSON object' },
        ]);
      }
      const body = wrapFreeJson(metadata.metatype as DtoClass, value as Record<string, unknown>);
      return this.compiled(body, metadata) ?? super.transform(body, metadata);
    }
    if (metadata.type === 'query') {
      // Bodies are checked as they are parsed (app.factory.ts); a query string can carry a NUL (%00) too.
      const unstorable = unstorableJson(value, 'query');
      if (unstorable) throw new AppException(HttpStatus.BAD_REQUEST, 'validationFailed', {}, [unstorable]);
      if (isDto) return this.compiled(value, metadata) ?? super.transform(value, metadata);
    }
    return super.transform(value, metadata);
  }

  /**
   * The DTO built as the generic path builds it (plainToInstance with the pipe's options: none), when its compiled
   * schema passes it; undefined leaves the value to the generic path, whose validate() then reports the errors.
   */
  private compiled(value: unknown, metadata: ArgumentMetadata): object | undefined {
    const metatype = metadata.metatype as DtoClass;
    if (!this.schemas.isMarked(metatype)) return undefined;
    const plain = value as Record<string, unknown>;
    const instance =
      this.builder.build(metatype, plain) ?? plainToInstance(metatype as unknown as new () => object, plain);
    return this.schemas.accepts(metatype, instance) ? instance : undefined;
  }
}

export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = /^\d+$/.test(error.property)
      ? `${parent}[${error.property}]`
      : parent
        ? `${parent}.${error.property}`
        : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}
