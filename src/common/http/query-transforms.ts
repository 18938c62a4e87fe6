import { TransformValue } from '../validation/dto-builder';

/** `true` / `false` in a query string; anything else stays as it is and fails `@IsBoolean()`. */
export const QueryBoolean = () =>
  TransformValue((value) => (value === 'true' ? true : value === 'false' ? false : value));

/**
 * A whole number in a query string; anything else becomes NaN and fails `@IsInt()`. So does one past 2^53, which
 * loses its digits and, as a bigint parameter or an OFFSET, can exceed PostgreSQL's range (a 500).
 */
export const QueryInt = () =>
  TransformValue((value) =>
    typeof value === 'string' && /^-?\d+$/.test(value) && Number.isSafeInteger(Number(value)) ? Number(value) : NaN,
  );

/** A trimmed string; an empty one counts as absent. */
export const QueryString = () =>
  TransformValue((value) => (typeof value === 'string' ? value.trim() || undefined : value));

/** Upper-cases a string (for case-insensitive enum parameters such as `sort_order`). */
export const UpperCase = () => TransformValue((value) => (typeof value === 'string' ? value.toUpperCase() : value));
