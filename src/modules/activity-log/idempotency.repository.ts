import { Injectable } from '@nestjs/common';
import { sql } from '../../database/sql';
import { Tx } from '../../database/transactions';

export type IdempotencyClaim = { claimed: true } | { claimed: false; requestHash: string; response: unknown };

/** The only code that reads or writes idempotency keys. */
@Injectable()
export class IdempotencyRepository {
  /**
   * Claims `key` for this request inside the caller's transaction. A concurrent request with the same key waits
   * here until the first commits, then sees its answer. A key older than 24 hours is claimed anew.
   */
  async claim(tx: Tx, userId: number, key: string, requestHash: string): Promise<IdempotencyClaim> {
    const claimed = await sql(
      tx,
      `INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, $2, $3)
       ON CONFLICT (user_id, key) DO UPDATE
         SET request_hash = EXCLUDED.request_hash, response = NULL, created_at = now()
         WHERE idempotency_keys.created_at < now() - interval '24 hours'
       RETURNING 1`,
      [userId, key, requestHash],
    );
    if (claimed.length) return { claimed: true };
    const [existing] = await sql<{ request_hash: string; response: unknown }>(
      tx,
      'SELECT request_hash, response FROM idempotency_keys WHERE user_id = $1 AND key = $2',
      [userId, key],
    );
    return { claimed: false, requestHash: existing.request_hash, response: existing.response };
  }

  async saveResponse(tx: Tx, userId: number, key: string, response: unknown): Promise<void> {
    await sql(tx, 'UPDATE idempotency_keys SET response = $3 WHERE user_id = $1 AND key = $2', [
      userId,
      key,
      JSON.stringify(response),
    ]);
  }
}
