import { buildMessage, ValidateBy, ValidationOptions } from 'class-validator';

/*
 * Length rules that count characters as the API and PostgreSQL's varchar(n) do: code points. class-validator's own
 * Length and MaxLength (validator.js) leave U+FE0E and U+FE0F out of the count, so a text of 100 visible characters
 * plus variation selectors passed the rule and then overflowed its column (a 500, or a silently trimmed value).
 * Same names, constraints and messages as class-validator's, so errors read as before.
 */

/** The number of code points of `text`. */
export function codePoints(text: string): number {
  let count = 0;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    // A high surrogate followed by a low one is one code point.
    if (unit >= 0xd800 && unit <= 0xdbff && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) index++;
    }
    count++;
  }
  return count;
}

const lengthOf = (value: unknown): number | undefined => (typeof value === 'string' ? codePoints(value) : undefined);

/** A string of `min` to `max` code points. */
export function Length(min: number, max: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isLength',
      constraints: [min, max],
      validator: {
        validate: (value: unknown) => {
          const length = lengthOf(value);
          return length !== undefined && length >= min && length <= max;
        },
        defaultMessage: buildMessage((each, args) => {
          const length = lengthOf(args?.value);
          if (!args?.value || (length !== undefined && length < min)) {
            return `${each}$property must be longer than or equal to $constraint1 characters`;
          }
          if (length !== undefined && length > max) {
            return `${each}$property must be shorter than or equal to $constraint2 characters`;
          }
          return `${each}$property must be longer than or equal to $constraint1 and shorter than or equal to $constraint2 characters`;
        }, options),
      },
    },
    options,
  );
}

/** A string of at most `max` code points. */
export function MaxLength(max: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'maxLength',
      constraints: [max],
      validator: {
        validate: (value: unknown) => {
          const length = lengthOf(value);
          return length !== undefined && length <= max;
        },
        defaultMessage: buildMessage(
          (each) => `${each}$property must be shorter than or equal to $constraint1 characters`,
          options,
        ),
      },
    },
    options,
  );
}
