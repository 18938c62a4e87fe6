import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { CursorPosition } from '../../common/pagination/cursor';
import { Paging } from '../../common/pagination/paging';
import type { ReadDb } from '../../database/read-replicas';
import { sql } from '../../database/sql';
import { Tx } from '../../database/transactions';
import { outboxCte } from '../webhooks/outbox/webhook-outbox';
import { AuditAction, AuditedEntity, AuditLog } from './audit-log.entity';

export interface NewAuditEntry {
  userId: number | null;
  username: string | null;
  action: AuditAction;
  entityType: AuditedEntity;
  entityId: string | null;
  oldValues: Record<string, unknown> | null;
  newValues: Record<string, unknown> | null;
  ipAddress: string | null;
  userAgent: string | null;
  requestId: string | null;
  apiKeyId: number | null;
}

export const AUDIT_SORT_COLUMNS = {
  id: 'id',
  created_at: 'created_at',
  action: 'action',
  entity_type: 'entity_type',
  entity_id: 'entity_id',
  user_id: 'user_id',
} as const;
export type AuditSortBy = keyof typeof AUDIT_SORT_COLUMNS;

export interface AuditLogFilters {
  action?: AuditAction;
  entityType?: AuditedEntity;
  entityId?: string;
  userId?: number;
  from?: Date;
  to?: Date;
}

export interface AuditChainCheck {
  valid: boolean;
  checked: number;
  firstInvalidId: number | null;
}

const GENESIS_HASH = '0'.repeat(64);
const VERIFY_BATCH = 5000;

/** The only code that reads or writes audit_logs. */
@Injectable()
export class AuditLogRepository {
  constructor(@InjectRepository(AuditLog) private readonly repository: Repository<AuditLog>) {}

  /** Appends an entry inside the caller's transaction (the database chains and stamps it); answers its id. */
  async insert(tx: Tx, entry: NewAuditEntry): Promise<number> {
    const [{ id }] = await sql<{ id: string }>(
      tx,
      // The same statement queues the entry for the ledger, so none is stored without reaching the tree, and writes
      // its `audit.created` event while an endpoint asks for it.
      `WITH inserted AS (
         INSERT INTO audit_logs (user_id, username, action, entity_type, entity_id, old_values, new_values,
                                 ip_address, user_agent, request_id, api_key_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         RETURNING id, created_at
       ), queued AS (
         INSERT INTO ledger_pending (kind, record_id, recorded_at) SELECT 'audit', id, created_at FROM inserted
       ), evented AS (
         ${outboxCte('audit.created', 'inserted')}
       )
       SELECT id FROM inserted`,
      [
        entry.userId,
        entry.username,
        entry.action,
        entry.entityType,
        entry.entityId,
        entry.oldValues === null ? null : JSON.stringify(entry.oldValues),
        entry.newValues === null ? null : JSON.stringify(entry.newValues),
        entry.ipAddress,
        entry.userAgent,
        entry.requestId,
        entry.apiKeyId,
      ],
    );
    return Number(id);
  }

  findById(id: number, db: ReadDb = this.repository.manager): Promise<AuditLog | null> {
    return db.getRepository(AuditLog).findOneBy({ id });
  }

  /** A page of entries; one row more than `paging.limit` when more follow. Total only in offset mode. */
  async list(
    filters: AuditLogFilters,
    sortBy: AuditSortBy,
    order: 'ASC' | 'DESC',
    paging: Paging,
    db: ReadDb = this.repository.manager,
  ): Promise<{ rows: AuditLog[]; total: number | null }> {
    const column = AUDIT_SORT_COLUMNS[sortBy];
    const query = db.getRepository(AuditLog).createQueryBuilder('a');
    if (filters.action) query.andWhere('a.action = :action', { action: filters.action });
    if (filters.entityType) query.andWhere('a.entity_type = :entityType', { entityType: filters.entityType });
    if (filters.entityId) query.andWhere('a.entity_id = :entityId', { entityId: filters.entityId });
    if (filters.userId !== undefined) query.andWhere('a.user_id = :userId', { userId: filters.userId });
    if (filters.from) query.andWhere('a.created_at >= :from', { from: filters.from });
    if (filters.to) query.andWhere('a.created_at <= :to', { to: filters.to });
    const total = paging.after ? null : await query.clone().getCount();
    if (paging.after) applyKeyset(query, column, order, paging.after);
    // Nulls sort last in either direction; the id breaks ties in the same direction.
    query
      .orderBy(`a.${column}`, order, 'NULLS LAST')
      .addOrderBy('a.id', order)
      .limit(paging.limit + 1);
    if (!paging.after) query.offset(((paging.page ?? 1) - 1) * paging.limit);
    return { rows: await query.getMany(), total };
  }

  /**
   * Re-hashes the kept chain in id order, in one consistent snapshot: each entry must hash to its `hash` and name
   * the previous entry's hash, and the chain head must name the last entry. The kept chain runs from the base (the
   * last entry removed by retention, or the genesis) to the head. A base other than the genesis must be the one its RETENTION entry recorded, so that moving the base cannot
   * hide removed entries.
   */
  async verifyChain(db: ReadDb = this.repository.manager): Promise<AuditChainCheck> {
    // A read-only snapshot, which a replica can take as well as the primary.
    return db.transaction('REPEATABLE READ', async (tx) => {
      const [head] = await sql<{ last_id: string; last_hash: string; base_id: string; base_hash: string }>(
        tx,
        'SELECT last_id, last_hash, base_id, base_hash FROM audit_chain_head WHERE id = 1',
      );
      let expectedPrev = head?.base_hash ?? GENESIS_HASH;
      let lastId = Number(head?.base_id ?? 0);
      let checked = 0;
      let firstInvalidId: number | null = null;
      if (lastId > 0 && !(await this.baseRecorded(tx, lastId, expectedPrev))) firstInvalidId = lastId + 1;
      for (;;) {
        const rows = await sql<{ id: string; prev_hash: string; hash: string; recomputed: string }>(
          tx,
          `SELECT id, prev_hash, hash, audit_log_hash(a) AS recomputed
             FROM audit_logs a WHERE id > $1 ORDER BY id LIMIT $2`,
          [lastId, VERIFY_BATCH],
        );
        for (const row of rows) {
          checked += 1;
          if (firstInvalidId === null && (row.prev_hash !== expectedPrev || row.recomputed !== row.hash)) {
            firstInvalidId = Number(row.id);
          }
          expectedPrev = row.hash;
          lastId = Number(row.id);
        }
        if (rows.length < VERIFY_BATCH) break;
      }
      if (firstInvalidId === null && head && (Number(head.last_id) !== lastId || head.last_hash !== expectedPrev)) {
        // Entries at the end of the chain are gone: the first missing one is the first invalid.
        firstInvalidId = lastId + 1;
      }
      return { valid: firstInvalidId === null, checked, firstInvalidId };
    });
  }

  /** Whether a RETENTION entry of the audit trail (itself in the kept chain) names this base. */
  private async baseRecorded(tx: ReadDb, baseId: number, baseHash: string): Promise<boolean> {
    const [found] = await sql<{ recorded: boolean }>(
      tx,
      `SELECT EXISTS (
         SELECT 1 FROM audit_logs
          WHERE action = 'RETENTION' AND entity_type = 'AuditLog' AND id > $1
            AND new_values ->> 'lastRemovedId' = $1::text AND new_values ->> 'lastRemovedHash' = $2) AS recorded`,
      [baseId, baseHash],
    );
    return found.recorded;
  }
}

/** Rows after `after` in the order `column order NULLS LAST, id order`. */
function applyKeyset(
  query: ReturnType<Repository<AuditLog>['createQueryBuilder']>,
  column: string,
  order: 'ASC' | 'DESC',
  after: CursorPosition,
): void {
  const cmp = order === 'ASC' ? '>' : '<';
  if (column === 'id') {
    query.andWhere(`a.id ${cmp} :afterId`, { afterId: after.id });
  } else if (after.value === null) {
    query.andWhere(`a.${column} IS NULL AND a.id ${cmp} :afterId`, { afterId: after.id });
  } else {
    const value = column === 'created_at' ? new Date(after.value) : after.value;
    query.andWhere(
      `(a.${column} ${cmp} :afterValue OR (a.${column} = :afterValue AND a.id ${cmp} :afterId) OR a.${column} IS NULL)`,
      { afterValue: value, afterId: after.id },
    );
  }
}
