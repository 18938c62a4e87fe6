import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { Role } from '../../common/auth/auth-user';
import { bigintToNumber, TIMESTAMP } from '../../database/column-types';

export const ACTIVITY_STATUSES = ['PENDING', 'IN_PROGRESS', 'DONE', 'FAILED'] as const;
export type ActivityStatus = (typeof ACTIVITY_STATUSES)[number];
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
export type TargetType = (typeof TARGET_TYPES)[number];
export const TARGET_MODELS = [
  'User',
  'Course',
  'Lesson',
  'Enrollment',
  'Cohort',
  'File',
  'Note',
  'Discussion',
] as const;
export type TargetModel = (typeof TARGET_MODELS)[number];

const list = (values: readonly string[]) => values.map((value) => `'${value}'`).join(', ');

/**
 * One recorded activity. Actor, target and context are flat columns, so filters and indexes stay plain; the API
 * nests them. The key includes `timestamp` so that the table can be partitioned by month; keyset reading walks
 * (`timestamp`, `id`).
 */
@Entity('activities')
@Check('ck_activities_status', `status IN (${list(ACTIVITY_STATUSES)})`)
@Check('ck_activities_target_type', `target_type IS NULL OR target_type IN (${list(TARGET_TYPES)})`)
// A user's lists read live rows only: partial indexes over them let a page's total be counted from the index
// alone (an index-only scan), without visiting one heap page per row. ADMIN reads of deleted rows use the others.
@Index('ix_activities_user_time', ['userId', 'timestamp', 'id'], { where: 'deleted_at IS NULL' })
@Index('ix_activities_user_action_time', ['userId', 'action', 'timestamp', 'id'], { where: 'deleted_at IS NULL' })
@Index('ix_activities_user_status_time', ['userId', 'status', 'timestamp', 'id'], { where: 'deleted_at IS NULL' })
@Index('ix_activities_target_time', ['targetType', 'targetId', 'timestamp', 'id'])
@Index('ix_activities_time', ['timestamp', 'id'])
export class ActivityLog {
  @PrimaryColumn({
    type: 'bigint',
    generated: 'identity',
    generatedIdentity: 'BY DEFAULT',
    transformer: bigintToNumber,
    primaryKeyConstraintName: 'pk_activities',
  })
  id: number;

  /** When the action happened (default: when it was received). */
  @PrimaryColumn({ ...TIMESTAMP, default: () => 'now()', primaryKeyConstraintName: 'pk_activities' })
  timestamp: Date;

  /** The signed-in user who recorded it. */
  @Column({ type: 'bigint', transformer: bigintToNumber })
  userId: number;

  @Column({ type: 'varchar', length: 100 })
  action: string;

  @Column({ type: 'varchar', length: 20, default: 'PENDING' })
  status: ActivityStatus;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  metadata: Record<string, unknown>;

  @Column({ type: 'varchar', length: 100, nullable: true })
  actorUserId: string | null;

  @Column({ type: 'varchar', length: 100 })
  actorName: string;

  @Column({ type: 'varchar', length: 254 })
  actorEmail: string;

  @Column({ type: 'varchar', length: 20, nullable: true })
  actorRole: Role | null;

  /** Null when the activity has no target. */
  @Column({ type: 'varchar', length: 20, nullable: true })
  targetType: TargetType | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  targetId: string | null;

  @Column({ type: 'varchar', length: 20, nullable: true })
  targetModel: TargetModel | null;

  @Column({ type: 'varchar', length: 200, nullable: true })
  targetName: string | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  contextDescription: string | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  contextSource: string | null;

  /** Null when the activity has no context; `{}` at least when it has one. */
  @Column({ type: 'jsonb', nullable: true })
  contextAdditionalInfo: Record<string, unknown> | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ipAddress: string | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  userAgent: string | null;

  @CreateDateColumn(TIMESTAMP)
  createdAt: Date;

  @UpdateDateColumn(TIMESTAMP)
  updatedAt: Date;

  @Column({ ...TIMESTAMP, nullable: true })
  deletedAt: Date | null;
}
