import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber, TIMESTAMP } from '../../database/column-types';

export const AUDIT_ACTIONS = [
  'CREATE',
  'UPDATE',
  'DELETE',
  'RESTORE',
  'LOGIN_SUCCESS',
  'LOGIN_FAILED',
  'LOGOUT',
  'PASSWORD_CHANGE',
  'RETENTION',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** What the trail records changes of. Auditing a new entity starts by naming it here. */
export const AUDITED_ENTITIES = ['User', 'Auth', 'ActivityLog', 'AuditLog', 'ApiKey', 'Webhook'] as const;
export type AuditedEntity = (typeof AUDITED_ENTITIES)[number];

/**
 * One entry of the append-only, hash-chained audit trail. The database assigns `id`, `created_at`, `prev_hash`
 * and `hash` (trigger `audit_logs_chain`) and refuses any UPDATE, DELETE or TRUNCATE. The key includes
 * `created_at` so that the table can be partitioned by month.
 */
@Entity('audit_logs')
@Index('ix_audit_logs_created_at', ['createdAt', 'id'])
@Index('ix_audit_logs_user', ['userId', 'createdAt', 'id'])
@Index('ix_audit_logs_action', ['action', 'createdAt', 'id'])
@Index('ix_audit_logs_entity', ['entityType', 'entityId', 'createdAt', 'id'])
@Index('ix_audit_logs_entity_id', ['entityId', 'createdAt', 'id'])
export class AuditLog {
  @PrimaryColumn({ type: 'bigint', transformer: bigintToNumber, primaryKeyConstraintName: 'pk_audit_logs' })
  id: number;

  /** Stamped by `audit_log_stamp()` under the chain's lock, before the row is routed to its month's partition. */
  @PrimaryColumn({ ...TIMESTAMP, default: () => 'audit_log_stamp()', primaryKeyConstraintName: 'pk_audit_logs' })
  createdAt: Date;

  @Column({ type: 'bigint', nullable: true, transformer: bigintToNumber })
  userId: number | null;

  @Column({ type: 'varchar', length: 254, nullable: true })
  username: string | null;

  @Column({ type: 'varchar', length: 30 })
  action: AuditAction;

  @Column({ type: 'varchar', length: 50 })
  entityType: AuditedEntity;

  @Column({ type: 'varchar', length: 100, nullable: true })
  entityId: string | null;

  @Column({ type: 'jsonb', nullable: true })
  oldValues: Record<string, unknown> | null;

  @Column({ type: 'jsonb', nullable: true })
  newValues: Record<string, unknown> | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ipAddress: string | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  userAgent: string | null;

  @Column({ type: 'varchar', length: 128, nullable: true })
  requestId: string | null;

  /** The API key that made the change, or null (a key's id; the key may since have been revoked). */
  @Column({ type: 'bigint', nullable: true, transformer: bigintToNumber })
  apiKeyId: number | null;

  @Column({ type: 'char', length: 64 })
  prevHash: string;

  @Column({ type: 'char', length: 64 })
  hash: string;
}
