import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { Role } from '../../common/auth/auth-user';
import { Paging } from '../../common/pagination/paging';
import type { ReadDb } from '../../database/read-replicas';
import { sql } from '../../database/sql';
import { Tx } from '../../database/transactions';
import { ApiKey } from './api-key.entity';
import type { ApiKeyScope } from './api-key-scopes';

/** A live key with its user as the user is now: what a request signed in with it acts as. */
export interface LiveKey {
  id: number;
  userId: number;
  scopes: ApiKeyScope[];
  expiresAt: Date | null;
  email: string;
  name: string;
  role: Role;
}

/** The only code that reads or writes api_keys. */
@Injectable()
export class ApiKeysRepository {
  constructor(@InjectRepository(ApiKey) private readonly repository: Repository<ApiKey>) {}

  async insert(
    tx: Tx,
    key: Pick<ApiKey, 'userId' | 'name' | 'scopes' | 'prefix' | 'keyHash' | 'expiresAt'>,
  ): Promise<ApiKey> {
    const result = await tx.getRepository(ApiKey).insert(key);
    return (await tx.getRepository(ApiKey).findOneBy({ id: Number(result.identifiers[0].id) }))!;
  }

  /** A key not revoked, by id. */
  findLive(id: number, db: ReadDb = this.repository.manager): Promise<ApiKey | null> {
    return db
      .getRepository(ApiKey)
      .createQueryBuilder('k')
      .where('k.id = :id AND k.revoked_at IS NULL', { id })
      .getOne();
  }

  /** Keys not revoked, newest last; one row more than `paging.limit` when more follow. */
  async list(
    userId: number | undefined,
    paging: Paging,
    db: ReadDb = this.repository.manager,
  ): Promise<{ rows: ApiKey[]; total: number | null }> {
    const query = db.getRepository(ApiKey).createQueryBuilder('k').where('k.revoked_at IS NULL');
    if (userId !== undefined) query.andWhere('k.user_id = :userId', { userId });
    const total = paging.after ? null : await query.clone().getCount();
    if (paging.after) query.andWhere('k.id > :afterId', { afterId: paging.after.id });
    query.orderBy('k.id', 'ASC').limit(paging.limit + 1);
    if (!paging.after) query.offset(((paging.page ?? 1) - 1) * paging.limit);
    return { rows: await query.getMany(), total };
  }

  /** Marks the key revoked; false when it was not live. */
  async revoke(tx: Tx, id: number): Promise<boolean> {
    const rows = await sql<{ id: string }>(
      tx,
      'UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id',
      [id],
    );
    return rows.length > 0;
  }

  /** The key of this hash, when it is not revoked and its user is not deleted (expiry is the caller's to check). */
  async findByHash(keyHash: string): Promise<LiveKey | null> {
    const [row] = await sql<{
      id: string;
      user_id: string;
      scopes: ApiKeyScope[];
      expires_at: Date | null;
      email: string;
      name: string;
      role: Role;
    }>(
      this.repository.manager,
      `SELECT k.id, k.user_id, k.scopes, k.expires_at, u.email, u.name, u.role
         FROM api_keys k JOIN users u ON u.id = k.user_id AND u.deleted_at IS NULL
        WHERE k.key_hash = $1 AND k.revoked_at IS NULL`,
      [keyHash],
    );
    if (!row) return null;
    return {
      id: Number(row.id),
      userId: Number(row.user_id),
      scopes: row.scopes,
      expiresAt: row.expires_at,
      email: row.email,
      name: row.name,
      role: row.role,
    };
  }

  /** Notes a use, unless one was noted in the last minute (by any instance). */
  async noteUse(id: number): Promise<void> {
    await sql(
      this.repository.manager,
      `UPDATE api_keys SET last_used_at = now()
        WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
      [id],
    );
  }
}
