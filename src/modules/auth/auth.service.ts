import { HttpStatus, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuthUser } from '../../common/auth/auth-user';
import { RequestContextStore } from '../../common/context/request-context';
import { AppException } from '../../common/http/app.exception';
import { Settings } from '../../config/settings';
import { ConsistentReads, WriteScope } from '../../database/consistent-reads';
import { Transactions, Tx } from '../../database/transactions';
import { AuditLogService, REDACTED } from '../audit-log/audit-log.service';
import { toUserResponse } from '../users/dto/user-response.dto';
import { User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { AuthResponseDto, ChangePasswordDto, LoginDto, RegisterDto } from './dto/auth.dto';
import { LoginThrottleService } from './login-throttle.service';
import { PasswordHasher } from './password-hasher';
import { SessionStateService } from './session-state.service';
import { SessionsRepository } from './sessions.repository';
import { hashRefreshToken, TokenService } from './token.service';

/** Sign-up, sign-in, token refresh, sign-out and password change; each login is a revocable session. */
@Injectable()
export class AuthService {
  constructor(
    private readonly settings: Settings,
    private readonly transactions: Transactions,
    private readonly users: UsersService,
    private readonly sessions: SessionsRepository,
    private readonly sessionState: SessionStateService,
    private readonly tokens: TokenService,
    private readonly passwords: PasswordHasher,
    private readonly throttle: LoginThrottleService,
    private readonly audit: AuditLogService,
    private readonly reads: ConsistentReads,
  ) {}

  async register(dto: RegisterDto): Promise<AuthResponseDto> {
    if (!this.settings.allowRegistration) throw new AppException(HttpStatus.FORBIDDEN, 'registrationClosed');
    const passwordHash = await this.passwords.hash(dto.password);
    return this.transactions.run(async (tx) => {
      const user = await this.users.create(
        tx,
        { email: dto.email, name: dto.name, role: 'PARTICIPANT', passwordHash },
        'self',
      );
      return this.startSession(tx, user);
    });
  }

  async login(dto: LoginDto): Promise<AuthResponseDto> {
    const address = RequestContextStore.current()?.ipAddress ?? 'unknown';
    const lockedFor = await this.throttle.lockedFor(dto.email, address);
    if (lockedFor > 0) {
      throw new AppException(HttpStatus.TOO_MANY_REQUESTS, 'tooManyLoginAttempts', { seconds: lockedFor }, null, {
        'Retry-After': String(lockedFor),
      });
    }
    const user = await this.users.findByEmailForSignIn(dto.email);
    const passwordMatches = await this.passwords.verify(user?.passwordHash, dto.password);
    if (!user || !passwordMatches || user.deletedAt) {
      await this.throttle.recordFailure(dto.email, address);
      await this.transactions.run((tx) =>
        this.audit.record(tx, {
          action: 'LOGIN_FAILED',
          entityType: 'Auth',
          entityId: user?.id ?? null,
          newValues: { email: dto.email },
          actor: { id: user?.id ?? null, email: user?.email ?? null },
        }),
      );
      throw new AppException(HttpStatus.UNAUTHORIZED, 'invalidCredentials');
    }
    await this.throttle.reset(dto.email);
    return this.transactions.run(async (tx) => {
      await this.audit.record(tx, {
        action: 'LOGIN_SUCCESS',
        entityType: 'Auth',
        entityId: user.id,
        actor: { id: user.id, email: user.email },
      });
      return this.startSession(tx, user);
    });
  }

  /** A new pair for a refresh token, which is spent. Presenting a spent one ends its login (theft is assumed). */
  async refresh(refreshToken: string): Promise<AuthResponseDto> {
    const outcome = await this.transactions.run(async (tx) => {
      const spent = await this.sessions.spendRefreshToken(tx, hashRefreshToken(refreshToken));
      if (spent.outcome === 'reused') {
        await this.sessions.revoke(tx, spent.sessionId, 'REFRESH_REUSE');
        tx.afterCommit(() => this.sessionState.revoked({ sessionIds: [spent.sessionId] }));
      }
      if (spent.outcome !== 'spent') return spent;
      const user = await this.users.findLive(spent.userId, tx);
      if (!user) return { outcome: 'invalid' as const };
      return { outcome: 'renewed' as const, response: await this.issueTokens(tx, user, spent.sessionId) };
    });
    if (outcome.outcome !== 'renewed') throw new AppException(HttpStatus.UNAUTHORIZED, 'invalidRefreshToken');
    return outcome.response;
  }

  async logout(caller: AuthUser): Promise<void> {
    // Only a login can be signed out of (a key is refused before it gets here).
    const sessionId = caller.sessionId;
    if (!sessionId) throw new AppException(HttpStatus.FORBIDDEN, 'forbidden');
    await this.transactions.run(async (tx) => {
      await this.sessions.revoke(tx, sessionId, 'LOGOUT');
      await this.audit.record(tx, { action: 'LOGOUT', entityType: 'Auth', entityId: caller.id });
      tx.afterCommit(() => this.sessionState.revoked({ sessionIds: [sessionId] }));
    });
  }

  /** Keeps this login, ends the others. */
  async changePassword(caller: AuthUser, dto: ChangePasswordDto): Promise<void> {
    const user = await this.users.findLive(caller.id);
    if (!user || !(await this.passwords.verify(user.passwordHash, dto.currentPassword))) {
      throw new AppException(HttpStatus.BAD_REQUEST, 'currentPasswordIncorrect', {}, [
        { field: 'currentPassword', message: 'currentPassword is incorrect' },
      ]);
    }
    const passwordHash = await this.passwords.hash(dto.newPassword);
    await this.transactions.run(async (tx) => {
      await this.users.setPasswordHash(tx, caller.id, passwordHash);
      const ended = await this.sessions.revokeAllOfUser(
        tx,
        caller.id,
        'PASSWORD_CHANGE',
        caller.sessionId ?? undefined,
      );
      await this.audit.record(tx, {
        action: 'PASSWORD_CHANGE',
        entityType: 'Auth',
        entityId: caller.id,
        oldValues: { password: REDACTED },
        newValues: { password: REDACTED, endedSessions: ended.length },
      });
      tx.afterCommit(() => this.sessionState.revoked({ sessionIds: ended }));
    });
  }

  private async startSession(tx: Tx, user: User): Promise<AuthResponseDto> {
    // Signed in by this request, not before it: its reads must see its account (read-your-writes).
    tx.afterCommit(() => this.reads.record([WriteScope.user(user.id)]));
    const context = RequestContextStore.current();
    const sessionId = randomUUID();
    await this.sessions.create(tx, {
      id: sessionId,
      userId: user.id,
      expiresAt: this.refreshExpiry(),
      ipAddress: context?.ipAddress ?? null,
      userAgent: context?.userAgent ?? null,
    });
    return this.issueTokens(tx, user, sessionId);
  }

  private async issueTokens(tx: Tx, user: User, sessionId: string): Promise<AuthResponseDto> {
    const refresh = this.tokens.newRefreshToken();
    await this.sessions.addRefreshToken(tx, { tokenHash: refresh.hash, sessionId, expiresAt: this.refreshExpiry() });
    return {
      user: toUserResponse(user),
      accessToken: this.tokens.signAccessToken(user, sessionId),
      refreshToken: refresh.token,
      tokenType: 'Bearer',
      expiresIn: this.tokens.accessTtlSeconds,
    };
  }

  private refreshExpiry(): Date {
    return new Date(Date.now() + this.tokens.refreshTtlSeconds * 1000);
  }
}
