import { Injectable } from '@nestjs/common';
import type { Role } from '../../common/auth/auth-user';
import { Transactions } from '../../database/transactions';
import { UsersService } from '../users/users.service';
import { IdentityKey, LinkedUser, UserIdentitiesRepository } from './user-identities.repository';

/** What a verified token from the identity provider says about its person. */
export interface ProviderIdentity extends IdentityKey {
  /** Lower-cased. */
  email: string;
  emailVerified: boolean;
  name: string;
  /** From the role claim; undefined when roles are Logbook's own. */
  role?: Role;
}

/**
 * The Logbook user behind an identity provider's token: found by (`iss`, `sub`); on first sight created, or linked to
 * the account with the same email when the provider says it verified that email.
 */
@Injectable()
export class IdentityUsersService {
  constructor(
    private readonly identities: UserIdentitiesRepository,
    private readonly users: UsersService,
    private readonly transactions: Transactions,
  ) {}

  /** The user, or null when the token may not act as anyone (a deleted user, an unverified email that is taken). */
  async resolve(identity: ProviderIdentity): Promise<LinkedUser | null> {
    const known = await this.identities.findUser(identity);
    if (known) return known.deleted ? null : known;
    return this.transactions.run(async (tx) => {
      await this.identities.lockFirstSight(tx, identity, identity.email);
      const linked = await this.identities.findUser(identity, tx);
      if (linked) return linked.deleted ? null : linked;
      const key = { issuer: identity.issuer, subject: identity.subject };
      const account = await this.users.findByEmailIn(tx, identity.email);
      if (account) {
        // Anyone can put any email in an account at some providers: only a verified one may take over an account.
        if (!identity.emailVerified || account.deletedAt) return null;
        await this.identities.link(tx, key, account.id);
        await this.users.linkedToIdentity(tx, account, key);
        return { id: account.id, email: account.email, name: account.name, role: account.role, deleted: false };
      }
      const user = { email: identity.email, name: identity.name, role: identity.role ?? 'PARTICIPANT' } as const;
      const created = await this.users.createForIdentity(tx, user, key);
      await this.identities.link(tx, key, created.id);
      return { id: created.id, email: created.email, name: created.name, role: created.role, deleted: false };
    });
  }

  /** The role the token gives, stored (and audited) when it changed; null when the user is gone meanwhile. */
  async followRole(user: LinkedUser, role: Role): Promise<LinkedUser | null> {
    const updated = await this.users.followIdentityRole(user.id, role);
    return updated && { ...user, role: updated.role };
  }
}
