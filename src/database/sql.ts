/** Escapes `%`, `_` and `\` so that a user's text matches literally inside ILIKE. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/**
 * The rows a raw UPDATE/DELETE ... RETURNING gave back: TypeORM answers those as `[rows, affectedCount]`,
 * a SELECT or INSERT as the rows themselves.
 */
export function returnedRows<T>(result: unknown): T[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
    return result[0] as T[];
  }
  return result as T[];
}
