import { HttpStatus, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { AuthUser } from '../../common/auth/auth-user';
import type { Page } from '../../common/http/api-result';
import { AppException } from '../../common/http/app.exception';
import { CursorCodec, cursorScope } from '../../common/pagination/cursor';
import { pageMeta, pagingFrom } from '../../common/pagination/paging';
import { ConsistentReads } from '../../database/consistent-reads';
import { Transactions } from '../../database/transactions';
import { AuditLogService } from '../audit-log/audit-log.service';
import { SessionStateService } from '../auth/session-state.service';
import { UsersService } from '../users/users.service';
import { ADMIN_ONLY_SCOPES } from './api-key-scopes';
import { hashApiKey } from './api-key.strategy';
import type { ApiKey } from './api-key.entity';
import { ApiKeysRepository } from './api-keys.repository';
import {
  ApiKeyQueryDto,
  ApiKeyResponseDto,
  CreateApiKeyDto,
  CreatedApiKeyDto,
  toApiKeyResponse,
} from './dto/api-key.dto';

const KEY_PREFIX = 'lbk_';
const PREFIX_LENGTH = 12;

/** What an audit entry says of a key: what the list shows, never the key or its hash. */
function audited(key: ApiKey): Record<string, unknown> {
  return { ...toApiKeyResponse(key) };
}

/** API keys: made by a signed-in user for themselves (an ADMIN for anyone), shown once, revoked at once. */
@Injectable()
export class ApiKeysService {
  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly users: UsersService,
    private readonly audit: AuditLogService,
    private readonly transactions: Transactions,
    private readonly sessionState: SessionStateService,
    private readonly cursors: CursorCodec,
    private readonly reads: ConsistentReads,
  ) {}

  async create(caller: AuthUser, dto: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    const userId = dto.userId ?? caller.id;
    if (userId !== caller.id && caller.role !== 'ADMIN') throw new AppException(HttpStatus.FORBIDDEN, 'forbidden');
    const expiresAt = dto.expiresAt === undefined ? null : new Date(dto.expiresAt);
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw new AppException(HttpStatus.BAD_REQUEST, 'validationFailed', {}, [
        { field: 'expiresAt', message: 'expiresAt must be in the future' },
      ]);
    }
    const text = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const created = await this.transactions.run(async (tx) => {
      const owner = await this.users.findLive(userId, tx);
      if (!owner) throw new AppException(HttpStatus.NOT_FOUND, 'userNotFound', { id: userId });
      const adminOnly = dto.scopes.find((scope) => ADMIN_ONLY_SCOPES.includes(scope));
      if (adminOnly && owner.role !== 'ADMIN') {
        throw new AppException(HttpStatus.BAD_REQUEST, 'apiKeyAdminScope', { scope: adminOnly }, [
          { field: 'scopes', message: `${adminOnly} is only for an ADMIN's key` },
        ]);
      }
      const key = await this.keys.insert(tx, {
        userId,
        name: dto.name,
        scopes: [...dto.scopes],
        prefix: text.slice(0, PREFIX_LENGTH),
        keyHash: hashApiKey(text),
        expiresAt,
      });
      await this.audit.record(tx, {
        action: 'CREATE',
        entityType: 'ApiKey',
        entityId: key.id,
        newValues: audited(key),
      });
      return key;
    });
    return { ...toApiKeyResponse(created), key: text };
  }

  async list(caller: AuthUser, query: ApiKeyQueryDto): Promise<Page<ApiKeyResponseDto>> {
    const userId = caller.role === 'ADMIN' ? query.userId : (query.userId ?? caller.id);
    if (userId !== undefined && userId !== caller.id && caller.role !== 'ADMIN') {
      throw new AppException(HttpStatus.FORBIDDEN, 'forbidden');
    }
    const scope = cursorScope('api-keys', { userId: userId ?? null });
    const paging = pagingFrom(query, this.cursors, scope);
    const { rows, total } = await this.reads.read((db) => this.keys.list(userId, paging, db));
    const { items, meta } = pageMeta(rows, paging, total, this.cursors, scope, (key) => ({ value: null, id: key.id }));
    return { items: items.map(toApiKeyResponse), meta };
  }

  async get(caller: AuthUser, id: number): Promise<ApiKeyResponseDto> {
    const key = await this.reads.read((db) => this.keys.findLive(id, db));
    if (!key || (key.userId !== caller.id && caller.role !== 'ADMIN')) {
      // Another user's key reads as missing: its existence is not the caller's to learn.
      throw new AppException(HttpStatus.NOT_FOUND, 'apiKeyNotFound', { id });
    }
    return toApiKeyResponse(key);
  }

  /** Revokes the key: it stops working once this commits, on every instance. */
  async revoke(caller: AuthUser, id: number): Promise<ApiKeyResponseDto> {
    return this.transactions.run(async (tx) => {
      const key = await this.keys.findLive(id, tx);
      if (!key || (key.userId !== caller.id && caller.role !== 'ADMIN') || !(await this.keys.revoke(tx, id))) {
        throw new AppException(HttpStatus.NOT_FOUND, 'apiKeyNotFound', { id });
      }
      await this.audit.record(tx, { action: 'DELETE', entityType: 'ApiKey', entityId: id, oldValues: audited(key) });
      tx.afterCommit(() => this.sessionState.revoked({ apiKeyIds: [id] }));
      return toApiKeyResponse(key);
    });
  }
}
