import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import { sql } from '../../database/sql';
import { Tx } from '../../database/transactions';
import { AuthSession } from './auth-session.entity';
import { RefreshToken } from './refresh-token.entity';

export type RevokeReason = 'LOGOUT' | 'PASSWORD_CHANGE' | 'REFRESH_REUSE' | 'USER_DELETED' | 'ROLE_CHANGED';

export type SpendResult =
  | { outcome: 'spent'; sessionId: string; userId: number }
  | { outcome: 'reused'; sessionId: string }
  | { outcome: 'invalid' };

/** The only code that reads or writes logins (auth_sessions) and refresh tokens. */
@Injectable()
export class SessionsRepository {
  constructor(@InjectRepository(AuthSession) private readonly sessions: Repository<AuthSession>) {}

  async create(
    tx: Tx,
    session: Pick<AuthSession, 'id' | 'userId' | 'expiresAt' | 'ipAddress' | 'userAgent'>,
  ): Promise<void> {
    await tx.getRepository(AuthSession).insert(session);
  }

  async addRefreshToken(tx: Tx, token: Pick<RefreshToken, 'tokenHash' | 'sessionId' | 'expiresAt'>): Promise<void> {
    await tx.getRepository(RefreshToken).insert(token);
    await tx.getRepository(AuthSession).update({ id: token.sessionId }, { expiresAt: token.expiresAt });
  }

  /**
   * Spends a refresh token of a live login, once: of two concurrent uses only one succeeds. A token that was
   * already spent is reported as reused.
   */
  async spendRefreshToken(tx: Tx, tokenHash: string): Promise<SpendResult> {
    const spent = await sql<{ session_id: string; user_id: string }>(
      tx,
      `UPDATE refresh_tokens t SET spent_at = now()
         FROM auth_sessions s JOIN users u ON u.id = s.user_id
        WHERE t.token_hash = $1 AND t.spent_at IS NULL AND t.expires_at > now()
          AND s.id = t.session_id AND s.revoked_at IS NULL AND u.deleted_at IS NULL
       RETURNING t.session_id, s.user_id`,
      [tokenHash],
    );
    if (spent[0]) return { outcome: 'spent', sessionId: spent[0].session_id, userId: Number(spent[0].user_id) };
    const known = await tx.getRepository(RefreshToken).findOneBy({ tokenHash });
    return known?.spentAt ? { outcome: 'reused', sessionId: known.sessionId } : { outcome: 'invalid' };
  }

  /** Whether the login is live: not revoked, not expired, its user not deleted. */
  async isActive(sessionId: string): Promise<boolean> {
    const rows = await sql(
      this.sessions.manager,
      `SELECT 1 FROM auth_sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > now() AND u.deleted_at IS NULL`,
      [sessionId],
    );
    return rows.length > 0;
  }

  /** Revokes one login; false when it was not live. */
  async revoke(tx: Tx, sessionId: string, reason: RevokeReason): Promise<boolean> {
    const result = await tx
      .getRepository(AuthSession)
      .update({ id: sessionId, revokedAt: IsNull() }, { revokedAt: () => 'now()', revokedReason: reason });
    return (result.affected ?? 0) > 0;
  }

  /** Revokes every live login of a user, but `exceptSessionId`; returns the revoked ids. */
  async revokeAllOfUser(tx: Tx, userId: number, reason: RevokeReason, exceptSessionId?: string): Promise<string[]> {
    const rows = await sql<{ id: string }>(
      tx,
      `UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $2
        WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id <> $3::uuid)
       RETURNING id`,
      [userId, reason, exceptSessionId ?? null],
    );
    return rows.map((row) => row.id);
  }
}
