import { ApiProperty } from '@nestjs/swagger';
import { AUDIT_ACTIONS, AUDITED_ENTITIES, type AuditAction, type AuditedEntity, AuditLog } from '../audit-log.entity';

/** An audit trail entry, snake_case, as the API names them. */
export class AuditLogResponseDto {
  @ApiProperty({ type: 'integer', example: 1 })
  id: number;

  /** The acting user; null for a failed sign-in with an unknown email. */
  @ApiProperty({ type: 'integer', nullable: true, example: 1 })
  user_id: number | null;

  /** The acting user's email. */
  @ApiProperty({ type: 'string', nullable: true, example: 'admin@example.com' })
  username: string | null;

  @ApiProperty({ enum: AUDIT_ACTIONS, enumName: 'AuditAction', example: 'UPDATE' })
  action: AuditAction;

  @ApiProperty({ enum: AUDITED_ENTITIES, enumName: 'AuditEntityType', example: 'ActivityLog' })
  entity_type: AuditedEntity;

  @ApiProperty({ type: 'string', nullable: true, example: '5' })
  entity_id: string | null;

  /** The changed fields before the change; secrets appear as "[REDACTED]". */
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, example: { status: 'PENDING' } })
  old_values: Record<string, unknown> | null;

  /** The changed fields after the change. */
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, example: { status: 'DONE' } })
  new_values: Record<string, unknown> | null;

  @ApiProperty({ type: 'string', nullable: true, example: '127.0.0.1' })
  ip_address: string | null;

  @ApiProperty({ type: 'string', nullable: true, example: 'Mozilla/5.0' })
  user_agent: string | null;

  @ApiProperty({ type: 'string', nullable: true, example: '0b6c1a7e-3f52-4f8e-9d0e-6a1f6f0c2a11' })
  request_id: string | null;

  /** The API key the change was made with, or null. */
  @ApiProperty({ type: 'integer', nullable: true, example: null })
  api_key_id: number | null;

  @ApiProperty({ type: 'string', format: 'date-time', example: '2024-12-09T10:30:00.000Z' })
  created_at: string;
}

export class AuditChainCheckDto {
  /** Whether every entry re-hashes to its hash and names its predecessor's. */
  @ApiProperty({ example: true })
  valid: boolean;

  /** How many entries were re-hashed. */
  @ApiProperty({ type: 'integer', example: 1042 })
  checked: number;

  /** The first entry that fails, or null. */
  @ApiProperty({ type: 'integer', nullable: true, example: null })
  firstInvalidId: number | null;
}

export function toAuditLogResponse(entry: AuditLog): AuditLogResponseDto {
  return {
    id: entry.id,
    user_id: entry.userId,
    username: entry.username,
    action: entry.action,
    entity_type: entry.entityType,
    entity_id: entry.entityId,
    old_values: entry.oldValues,
    new_values: entry.newValues,
    ip_address: entry.ipAddress,
    user_agent: entry.userAgent,
    request_id: entry.requestId,
    api_key_id: entry.apiKeyId,
    created_at: entry.createdAt.toISOString(),
  };
}
