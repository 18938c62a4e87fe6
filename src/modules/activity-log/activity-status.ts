import { ActivityStatus } from './activity-log.entity';

/** Where each status may go: PENDING -> IN_PROGRESS -> DONE | FAILED, and PENDING straight to DONE or FAILED. */
const NEXT: Record<ActivityStatus, readonly ActivityStatus[]> = {
  PENDING: ['IN_PROGRESS', 'DONE', 'FAILED'],
  IN_PROGRESS: ['DONE', 'FAILED'],
  DONE: [],
  FAILED: [],
};

/** A status as clients may send it (`COMPLETED` means `DONE`), or undefined when it is none. */
export function parseStatus(value: unknown): ActivityStatus | undefined {
  if (value === 'COMPLETED') return 'DONE';
  return typeof value === 'string' && Object.hasOwn(NEXT, value) ? (value as ActivityStatus) : undefined;
}

export function canChangeStatus(from: ActivityStatus, to: ActivityStatus): boolean {
  return NEXT[from].includes(to);
}
