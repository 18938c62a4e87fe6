import { HttpStatus, Injectable } from '@nestjs/common';
import { AuthUser, Role } from '../../common/auth/auth-user';
import { AppException } from '../../common/http/app.exception';
import type { Page } from '../../common/http/api-result';
import { CursorCodec, cursorScope } from '../../common/pagination/cursor';
import { pageMeta, pagingFrom } from '../../common/pagination/paging';
import { ConsistentReads } from '../../database/consistent-reads';
import { Transactions, Tx } from '../../database/transactions';
import { AuditActor, AuditLogService, changedFields, REDACTED } from '../audit-log/audit-log.service';
import { NO_PASSWORD } from '../auth/password-hasher';
import { SessionStateService } from '../auth/session-state.service';
import { RevokeReason, SessionsRepository } from '../auth/sessions.repository';
import { UpdateUserDto } from './dto/update-user.dto';
import { UserQueryDto } from './dto/user-query.dto';
import { toUserResponse, UserResponseDto } from './dto/user-response.dto';
import { User } from './user.entity';
import { UsersRepository } from './users.repository';

type NewUser = Pick<User, 'email' | 'name' | 'role' | 'passwordHash'>;

/** Accounts: their rules, their audit entries, and the logins a change ends. */
@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditLogService,
    private readonly sessions: SessionsRepository,
    private readonly sessionState: SessionStateService,
    private readonly cursors: CursorCodec,
    private readonly reads: ConsistentReads,
  ) {}

  /**
   * Creates an account inside the caller's transaction. `self`: a registration, recorded as done by the new user;
   * `caller`: by the signed-in user; or an explicit actor (the CLI).
   */
  async create(tx: Tx, user: NewUser, by: 'self' | 'caller' | AuditActor): Promise<User> {
    if (await this.users.findByEmail(user.email, tx)) throw new AppException(HttpStatus.CONFLICT, 'emailTaken');
    const created = await this.users.insert(tx, user);
    await this.audit.record(tx, {
      action: 'CREATE',
      entityType: 'User',
      entityId: created.id,
      newValues: { email: created.email, name: created.name, role: created.role, password: REDACTED },
      actor: by === 'self' ? { id: created.id, email: created.email } : by === 'caller' ? undefined : by,
    });
    return created;
  }

  /**
   * A user an identity provider vouches for, seen for the first time: an account without a password, recorded as
   * made by the user themself, with the identity it is linked to.
   */
  async createForIdentity(
    tx: Tx,
    user: Pick<User, 'email' | 'name' | 'role'>,
    identity: { issuer: string; subject: string },
  ): Promise<User> {
    const created = await this.users.insert(tx, { ...user, passwordHash: NO_PASSWORD });
    await this.audit.record(tx, {
      action: 'CREATE',
      entityType: 'User',
      entityId: created.id,
      newValues: { email: created.email, name: created.name, role: created.role, identity },
      actor: { id: created.id, email: created.email },
    });
    return created;
  }

  /** An existing account now also signs in through an identity provider (its email verified there). */
  async linkedToIdentity(tx: Tx, user: User, identity: { issuer: string; subject: string }): Promise<void> {
    await this.audit.record(tx, {
      action: 'UPDATE',
      entityType: 'User',
      entityId: user.id,
      oldValues: { identity: null },
      newValues: { identity },
      actor: { id: user.id, email: user.email },
    });
  }

  /**
   * The role an identity provider's token gives its user, when it differs from the stored one: changed and audited
   * as done by the user's token, ending their logins as any role change does. Null when the user is deleted.
   */
  async followIdentityRole(id: number, role: Role): Promise<User | null> {
    return this.transactions.run(async (tx) => {
      const current = await this.users.lockById(tx, id);
      if (!current || current.role === role) return current;
      const updated = (await this.users.update(tx, id, { role }))!;
      await this.audit.record(tx, {
        action: 'UPDATE',
        entityType: 'User',
        entityId: id,
        oldValues: { role: current.role },
        newValues: { role },
        actor: { id, email: current.email },
      });
      await this.endSessions(tx, id, 'ROLE_CHANGED');
      return updated;
    });
  }

  /** The account for a sign-in attempt, deleted ones included (they are refused like a wrong password). */
  findByEmailForSignIn(email: string): Promise<User | null> {
    return this.users.findByEmail(email);
  }

  /** The account with this (lower-cased) email, deleted ones included, within the caller's transaction. */
  findByEmailIn(tx: Tx, email: string): Promise<User | null> {
    return this.users.findByEmail(email, tx);
  }

  findLive(id: number, tx?: Tx): Promise<User | null> {
    return this.users.findById(id, { tx });
  }

  async setPasswordHash(tx: Tx, id: number, passwordHash: string): Promise<void> {
    await this.users.update(tx, id, { passwordHash });
  }

  async me(caller: AuthUser): Promise<UserResponseDto> {
    return this.get(caller, caller.id);
  }

  async list(query: UserQueryDto): Promise<Page<UserResponseDto>> {
    const filters = { role: query.role, q: query.q, includeDeleted: query.includeDeleted ?? false };
    const scope = cursorScope('users', filters);
    const paging = pagingFrom(query, this.cursors, scope);
    const { rows, total } = await this.reads.read((db) => this.users.list(filters, paging, db));
    const { items, meta } = pageMeta(rows, paging, total, this.cursors, scope, (user) => ({
      value: null,
      id: user.id,
    }));
    return { items: items.map(toUserResponse), meta };
  }

  /** An ADMIN may read anyone; others only themselves. A deleted user reads as 404. */
  async get(caller: AuthUser, id: number): Promise<UserResponseDto> {
    if (caller.role !== 'ADMIN' && caller.id !== id) throw new AppException(HttpStatus.FORBIDDEN, 'forbidden');
    const user = await this.reads.read((db) => this.users.findById(id, { db }));
    if (!user) throw notFound(id);
    return toUserResponse(user);
  }

  /** Name and role. A role change ends every login of that user; the same values again change nothing. */
  async update(caller: AuthUser, id: number, dto: UpdateUserDto): Promise<UserResponseDto> {
    if (caller.id === id && dto.role !== undefined && dto.role !== 'ADMIN') {
      throw new AppException(HttpStatus.CONFLICT, 'ownAdminAccess');
    }
    const user = await this.transactions.run(async (tx) => {
      const current = await this.users.lockById(tx, id);
      if (!current) throw notFound(id);
      const changes = changedFields(current, { name: dto.name, role: dto.role });
      if (!changes) return current;
      const updated = (await this.users.update(tx, id, { name: dto.name, role: dto.role }))!;
      await this.audit.record(tx, { action: 'UPDATE', entityType: 'User', entityId: id, ...changes });
      if ('role' in changes.newValues) await this.endSessions(tx, id, 'ROLE_CHANGED');
      return updated;
    });
    return toUserResponse(user);
  }

  /** Soft delete: the user can no longer sign in, and every token of theirs stops working. */
  async remove(caller: AuthUser, id: number): Promise<UserResponseDto> {
    if (caller.id === id) throw new AppException(HttpStatus.CONFLICT, 'ownAdminAccess');
    const user = await this.transactions.run(async (tx) => {
      const current = await this.users.lockById(tx, id);
      if (!current) throw notFound(id);
      const deleted = (await this.users.setDeleted(tx, id, true))!;
      await this.endSessions(tx, id, 'USER_DELETED');
      await this.audit.record(tx, {
        action: 'DELETE',
        entityType: 'User',
        entityId: id,
        oldValues: { deletedAt: null },
        newValues: { deletedAt: deleted.deletedAt?.toISOString() ?? null },
      });
      return deleted;
    });
    return toUserResponse(user);
  }

  /** Restoring a user that is not deleted changes nothing and writes no entry. */
  async restore(id: number, by?: AuditActor): Promise<UserResponseDto> {
    const user = await this.transactions.run(async (tx) => this.restoreIn(tx, id, by));
    return toUserResponse(user);
  }

  /** `create-admin`: a new ADMIN, or an existing user (restored if deleted) made one. */
  async createOrPromoteAdmin(account: NewUser, by: AuditActor): Promise<{ user: User; created: boolean }> {
    const existing = await this.users.findByEmail(account.email);
    if (!existing) {
      const user = await this.transactions.run((tx) => this.create(tx, { ...account, role: 'ADMIN' }, by));
      return { user, created: true };
    }
    const user = await this.transactions.run(async (tx) => {
      await this.restoreIn(tx, existing.id, by);
      if (existing.role === 'ADMIN') return existing;
      const promoted = (await this.users.update(tx, existing.id, { role: 'ADMIN' }))!;
      await this.audit.record(tx, {
        action: 'UPDATE',
        entityType: 'User',
        entityId: existing.id,
        oldValues: { role: existing.role },
        newValues: { role: 'ADMIN' },
        actor: by,
      });
      await this.endSessions(tx, existing.id, 'ROLE_CHANGED');
      return promoted;
    });
    return { user, created: false };
  }

  /** Ends every login of the user with the transaction; tokens still cached elsewhere stop once it commits. */
  private async endSessions(tx: Tx, userId: number, reason: RevokeReason): Promise<void> {
    await this.sessions.revokeAllOfUser(tx, userId, reason);
    tx.afterCommit(() => this.sessionState.revoked({ userId }));
  }

  private async restoreIn(tx: Tx, id: number, by?: AuditActor): Promise<User> {
    const current = await this.users.lockById(tx, id, { withDeleted: true });
    if (!current) throw notFound(id);
    if (!current.deletedAt) return current;
    const restored = (await this.users.setDeleted(tx, id, false))!;
    await this.audit.record(tx, {
      action: 'RESTORE',
      entityType: 'User',
      entityId: id,
      oldValues: { deletedAt: current.deletedAt.toISOString() },
      newValues: { deletedAt: null },
      actor: by,
    });
    return restored;
  }
}

const notFound = (id: number) => new AppException(HttpStatus.NOT_FOUND, 'userNotFound', { id });
