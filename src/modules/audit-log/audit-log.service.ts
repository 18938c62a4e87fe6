import { Injectable } from '@nestjs/common';
import { HttpStatus } from '@nestjs/common';
import { RequestContextStore } from '../../common/context/request-context';
import { AppException } from '../../common/http/app.exception';
import type { Page } from '../../common/http/api-result';
import { CursorCodec, cursorScope } from '../../common/pagination/cursor';
import { pageMeta, pagingFrom } from '../../common/pagination/paging';
import { ConsistentReads } from '../../database/consistent-reads';
import { Tx } from '../../database/transactions';
import { AuditAction, AuditedEntity, AuditLog } from './audit-log.entity';
import { AuditChainCheck, AuditLogRepository } from './audit-log.repository';
import { AuditLogQueryDto } from './dto/audit-log-query.dto';
import { AuditLogResponseDto, toAuditLogResponse } from './dto/audit-log-response.dto';

export const REDACTED = '[REDACTED]';

/** Who did it, when not the signed-in caller (sign-in, registration, the CLI). */
export interface AuditActor {
  id: number | null;
  email: string | null;
}

export interface AuditRecord {
  action: AuditAction;
  entityType: AuditedEntity;
  entityId: string | number | null;
  oldValues?: Record<string, unknown> | null;
  newValues?: Record<string, unknown> | null;
  /** Default: the signed-in caller of the current request. */
  actor?: AuditActor;
}

/**
 * Writes and reads the audit trail. Writing always goes through the caller's transaction, so a change and its
 * entry commit or roll back together; the client address, user agent and request id come from the request.
 */
@Injectable()
export class AuditLogService {
  constructor(
    private readonly repository: AuditLogRepository,
    private readonly cursors: CursorCodec,
    private readonly reads: ConsistentReads,
  ) {}

  async record(tx: Tx, record: AuditRecord): Promise<void> {
    const context = RequestContextStore.current();
    const actor = record.actor ?? { id: context?.userId ?? null, email: context?.userEmail ?? null };
    const id = await this.repository.insert(tx, {
      userId: actor.id,
      username: actor.email,
      action: record.action,
      entityType: record.entityType,
      entityId: record.entityId === null ? null : String(record.entityId),
      oldValues: record.oldValues ?? null,
      newValues: record.newValues ?? null,
      ipAddress: context?.ipAddress ?? null,
      userAgent: context?.userAgent ?? null,
      requestId: context?.requestId ?? null,
      apiKeyId: record.actor ? null : (context?.apiKeyId ?? null),
    });
    tx.touch('auditEntryAdded', id);
  }

  async list(query: AuditLogQueryDto): Promise<Page<AuditLogResponseDto>> {
    const sortBy = query.sort_by ?? 'created_at';
    const order = query.sort_order ?? 'DESC';
    const filters = query.filters();
    const scope = cursorScope('audit-logs', { ...filters, sortBy, order });
    const paging = pagingFrom(query, this.cursors, scope);
    const { rows, total } = await this.reads.read((db) => this.repository.list(filters, sortBy, order, paging, db));
    const { items, meta } = pageMeta(rows, paging, total, this.cursors, scope, (row) => ({
      value: sortValue(row, sortBy),
      id: row.id,
    }));
    return { items: items.map(toAuditLogResponse), meta };
  }

  async get(id: number): Promise<AuditLogResponseDto> {
    const entry = await this.reads.read((db) => this.repository.findById(id, db));
    if (!entry) throw new AppException(HttpStatus.NOT_FOUND, 'auditLogNotFound', { id });
    return toAuditLogResponse(entry);
  }

  verify(): Promise<AuditChainCheck> {
    return this.reads.read((db) => this.repository.verifyChain(db));
  }
}

function sortValue(row: AuditLog, sortBy: string): string | number | null {
  switch (sortBy) {
    case 'created_at':
      return row.createdAt.toISOString();
    case 'action':
      return row.action;
    case 'entity_type':
      return row.entityType;
    case 'entity_id':
      return row.entityId;
    case 'user_id':
      return row.userId;
    default:
      return row.id;
  }
}

/**
 * The changed fields of an entity, before and after; fields named in `secret` appear as "[REDACTED]".
 * Null when nothing changed.
 */
export function changedFields<T extends object>(
  before: T,
  after: Partial<T>,
  secret: (keyof T)[] = [],
): { oldValues: Record<string, unknown>; newValues: Record<string, unknown> } | null {
  const oldValues: Record<string, unknown> = {};
  const newValues: Record<string, unknown> = {};
  for (const key of Object.keys(after) as (keyof T)[]) {
    if (after[key] === undefined || after[key] === before[key]) continue;
    const hidden = secret.includes(key);
    oldValues[key as string] = hidden ? REDACTED : before[key];
    newValues[key as string] = hidden ? REDACTED : after[key];
  }
  return Object.keys(newValues).length ? { oldValues, newValues } : null;
}
