import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Role } from '../../common/auth/auth-user';
import { Tx } from '../../database/transactions';
import { UserIdentity } from './user-identity.entity';

/** The identity provider's name for a person, and the user it is linked to as that user is now. */
export interface IdentityKey {
  issuer: string;
  subject: string;
}

export interface LinkedUser {
  id: number;
  email: string;
  name: string;
  role: Role;
  deleted: boolean;
}

/** The only code that reads or writes user_identities. */
@Injectable()
export class UserIdentitiesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The user (deleted ones too) an identity is linked to, or null for an identity not seen before. */
  async findUser(identity: IdentityKey, db: EntityManager = this.dataSource.manager): Promise<LinkedUser | null> {
    const rows: { id: string; email: string; name: string; role: Role; deleted: boolean }[] = await db.query(
      `SELECT u.id, u.email, u.name, u.role, u.deleted_at IS NOT NULL AS deleted
         FROM user_identities i JOIN users u ON u.id = i.user_id
        WHERE i.issuer = $1 AND i.subject = $2`,
      [identity.issuer, identity.subject],
    );
    return rows[0] ? { ...rows[0], id: Number(rows[0].id) } : null;
  }

  async link(tx: Tx, identity: IdentityKey, userId: number): Promise<void> {
    await tx.getRepository(UserIdentity).insert({ ...identity, userId });
  }

  /**
   * Holds off, until the transaction ends, every other first sight of the same identity or the same email, so that
   * two first requests at once make one user and one link.
   */
  async lockFirstSight(tx: Tx, identity: IdentityKey, email: string): Promise<void> {
    await tx.query(
      `SELECT pg_advisory_xact_lock(hashtextextended($1, 0)), pg_advisory_xact_lock(hashtextextended($2, 0))`,
      [`oidc-identity:${identity.issuer}\n${identity.subject}`, `oidc-email:${email}`],
    );
  }
}
