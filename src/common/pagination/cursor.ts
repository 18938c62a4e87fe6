import { HttpStatus } from '@nestjs/common';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppException } from '../http/app.exception';

/** Where a keyset page resumes: the sort value and id of the last row read. */
export interface CursorPosition {
  /** The last row's sort value (an ISO time, a string, a number, or null). */
  value: string | number | null;
  id: number;
}

/**
 * Opaque, tamper-proof keyset cursors: `base64url(payload).base64url(hmac)`. The payload binds the position to a
 * fingerprint of the list's effective filters and ordering, so a cursor works only with the query it came from.
 */
export class CursorCodec {
  constructor(private readonly key: Buffer) {}

  encode(scope: string, position: CursorPosition): string {
    const payload = Buffer.from(JSON.stringify({ s: scope, v: position.value, i: position.id })).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  /** The position, if `cursor` was made by this service for `scope`; otherwise a 400. */
  decode(scope: string, cursor: string): CursorPosition {
    const [payload, signature, extra] = cursor.split('.');
    if (!payload || !signature || extra !== undefined || !this.verify(payload, signature)) throw invalidCursor();
    let parsed: { s?: unknown; v?: unknown; i?: unknown };
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof parsed;
    } catch {
      throw invalidCursor();
    }
    const valueOk = parsed.v === null || typeof parsed.v === 'string' || typeof parsed.v === 'number';
    if (parsed.s !== scope || !valueOk || !Number.isSafeInteger(parsed.i)) throw invalidCursor();
    return { value: parsed.v as CursorPosition['value'], id: parsed.i as number };
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }

  private verify(payload: string, signature: string): boolean {
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}

export function invalidCursor(): AppException {
  return new AppException(HttpStatus.BAD_REQUEST, 'invalidCursor', {}, [
    { field: 'cursor', message: 'invalid cursor' },
  ]);
}

/** A stable fingerprint of a list query: its name and effective filters and ordering (defaults filled in). */
export function cursorScope(list: string, query: Record<string, unknown>): string {
  const entries = Object.entries(query)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => [key, value instanceof Date ? value.toISOString() : value] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${list}:${createHmac('sha256', 'scope').update(JSON.stringify(entries)).digest('base64url').slice(0, 16)}`;
}
