import { ArgumentMetadata, HttpStatus, Injectable, ValidationError, ValidationPipe } from '@nestjs/common';
import { AppException, FieldError } from './app.exception';
import { forget, liftFreeJson } from './free-json';
import { DtoClass, PrecompiledValidator } from './precompiled-validation';
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
  /**
   * Bodies and query strings of @PrecompiledValidation() DTOs that it is sure about skip the generic path (same
   * result, faster).
   */
  private readonly precompiled = new PrecompiledValidator(VALIDATOR_OPTIONS);

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
      // The fast path takes free-form JSON as it is (it declines whatever class-transformer would not copy intact),
      // so only the generic path needs it lifted out of class-transformer's way (free-json.ts).
      const fast = this.precompiled.transform(metadata.metatype as DtoClass, value);
      if (fast) return fast;
      const { body, tokens } = liftFreeJson(metadata.metatype as DtoClass, value as Record<string, unknown>);
      try {
        return await super.transform(body, metadata);
      } finally {
        forget(tokens);
      }
    }
    if (metadata.type === 'query') {
      // Bodies are checked as they are parsed (app.factory.ts); a query string can carry a NUL (%00) too.
      const unstorable = unstorableJson(value, 'query');
      if (unstorable) throw new AppException(HttpStatus.BAD_REQUEST, 'validationFailed', {}, [unstorable]);
      if (isDto)
        return this.precompiled.transform(metadata.metatype as DtoClass, value) ?? super.transform(value, metadata);
    }
    return super.transform(value, metadata);
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
