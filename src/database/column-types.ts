import { ValueTransformer } from 'typeorm';

/** PostgreSQL bigint ids arrive as strings; the API serves them as JSON numbers (ids stay below 2^53). */
export const bigintToNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};

/** Every time column: timestamptz at millisecond precision, what clients read being what filters compare. */
export const TIMESTAMP = { type: 'timestamptz', precision: 3 } as const;
