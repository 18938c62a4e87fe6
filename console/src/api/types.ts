export type ActivityStatus = 'PENDING' | 'IN_PROGRESS' | 'DONE' | 'FAILED';

export const STATUSES: ActivityStatus[] = ['PENDING', 'IN_PROGRESS', 'DONE', 'FAILED'];
export const TARGET_TYPES = [
  'USER',
  'COURSE',
  'LESSON',
  'ENROLLMENT',
  'COHORT',
  'FILE',
  'NOTE',
  'DISCUSSION',
  'SYSTEM',
  'OTHER',
] as const;

/** Where each status may go (as the API allows): PENDING -> IN_PROGRESS -> DONE | FAILED, or PENDING -> DONE | FAILED. */
export const NEXT_STATUSES: Record<ActivityStatus, ActivityStatus[]> = {
  PENDING: ['IN_PROGRESS', 'DONE', 'FAILED'],
  IN_PROGRESS: ['DONE', 'FAILED'],
  DONE: [],
  FAILED: [],
};

export interface Activity {
  id: number;
  user: number;
  action: string;
  status: ActivityStatus;
  metadata: Record<string, unknown>;
  actor: { userId: string | null; name: string | null; email: string | null; role: string | null } | null;
  target: { type: string; id: string | null; model: string | null; name: string | null } | null;
  context: { description: string | null; source: string | null; additionalInfo: Record<string, unknown> } | null;
  ipAddress: string | null;
  userAgent: string | null;
  timestamp: string;
  createdAt: string;
  updatedAt: string;
  deletedAt?: string | null;
}

export interface AuditEntry {
  id: number;
  user_id: number | null;
  username: string | null;
  action: string;
  entity_type: string;
  entity_id: string | null;
  old_values: Record<string, unknown> | null;
  new_values: Record<string, unknown> | null;
  created_at: string;
}
