import canonicalize from 'canonicalize';
import type { ActivityLog, ActivityStatus } from '../activity-log/activity-log.entity';
import { toActivityResponse } from '../activity-log/dto/activity-response.dto';
import type { AuditLog } from '../audit-log/audit-log.entity';
import { toAuditLogResponse } from '../audit-log/dto/audit-log-response.dto';

/**
 * What a leaf says: the record as the API answers it when it is recorded, plus `kind`, in RFC 8785 canonical JSON
 * (the `canonicalize` package, by one of the RFC's authors). An activity's leaf is the activity as created: the
 * status it was created with, and no `updatedAt`.
 */

export const LEAF_KINDS = ['activity', 'audit'] as const;
export type LeafKind = (typeof LEAF_KINDS)[number];

export function activityLeafObject(activity: ActivityLog, createdStatus: ActivityStatus): Record<string, unknown> {
  const { updatedAt: _updatedAt, ...created } = toActivityResponse(activity);
  return { kind: 'activity', ...created, status: createdStatus };
}

export function auditLeafObject(entry: AuditLog): Record<string, unknown> {
  return { kind: 'audit', ...toAuditLogResponse(entry) };
}

export function leafText(object: Record<string, unknown>): string {
  const text = canonicalize(object);
  if (text === undefined) throw new Error('a leaf must be a JSON object');
  return text;
}

/**
 * Whether a kept record still says what its leaf says, reading the record the way its leaf was made: a field the
 * API gained after the leaf was written is not in it, and such a field of the record must be null.
 */
export function recordMatchesLeaf(record: Record<string, unknown>, leaf: string): boolean {
  let stored: Record<string, unknown>;
  try {
    stored = JSON.parse(leaf) as Record<string, unknown>;
  } catch {
    return false;
  }
  const expected: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (key in stored || (value !== null && value !== undefined)) expected[key] = value;
  }
  return leafText(expected) === leaf;
}
