import { ApiExtraModels, ApiProperty, ApiPropertyOptions, getSchemaPath } from '@nestjs/swagger';
import { ROLES, type Role } from '../../../common/auth/auth-user';
import {
  ACTIVITY_STATUSES,
  ActivityLog,
  type ActivityStatus,
  TARGET_MODELS,
  TARGET_TYPES,
  type TargetModel,
  type TargetType,
} from '../activity-log.entity';

export class ActorResponseDto {
  @ApiProperty({ type: 'string', nullable: true, example: '4' })
  userId: string | null;

  @ApiProperty({ example: 'John Doe' })
  name: string;

  @ApiProperty({ example: 'john@example.com' })
  email: string;

  @ApiProperty({ type: 'string', enum: [...ROLES, null], nullable: true, example: 'PARTICIPANT' })
  role: Role | null;
}

export class TargetResponseDto {
  @ApiProperty({ enum: TARGET_TYPES, enumName: 'TargetType', example: 'FILE' })
  type: TargetType;

  @ApiProperty({ type: 'string', nullable: true, example: '68ba5cdc' })
  id: string | null;

  @ApiProperty({ type: 'string', enum: [...TARGET_MODELS, null], nullable: true, example: 'File' })
  model: TargetModel | null;

  @ApiProperty({ type: 'string', nullable: true, example: 'Course Material.pdf' })
  name: string | null;
}

export class ContextResponseDto {
  @ApiProperty({ type: 'string', nullable: true, example: 'Downloaded course material' })
  description: string | null;

  @ApiProperty({ type: 'string', nullable: true, example: 'WEB_APP' })
  source: string | null;

  @ApiProperty({ type: 'object', additionalProperties: true, example: {} })
  additionalInfo: Record<string, unknown>;
}

/** A nullable reference (the document builder adds the `type` that OpenAPI 3.0 wants beside it). */
const nullableRef = (model: new () => unknown): ApiPropertyOptions => ({
  nullable: true,
  allOf: [{ $ref: getSchemaPath(model) }],
});

@ApiExtraModels(TargetResponseDto, ContextResponseDto)
export class ActivityResponseDto {
  @ApiProperty({ type: 'integer', example: 1 })
  id: number;

  /** The signed-in user who recorded it. */
  @ApiProperty({ type: 'integer', example: 4 })
  user: number;

  @ApiProperty({ example: 'DOWNLOAD_FILE' })
  action: string;

  @ApiProperty({ enum: ACTIVITY_STATUSES, enumName: 'ActivityStatus', example: 'PENDING' })
  status: ActivityStatus;

  @ApiProperty({ type: 'object', additionalProperties: true, example: { fileSize: '2.5MB' } })
  metadata: Record<string, unknown>;

  @ApiProperty({ type: ActorResponseDto })
  actor: ActorResponseDto;

  /** Null when the activity has no target. */
  @ApiProperty(nullableRef(TargetResponseDto))
  target: TargetResponseDto | null;

  /** Null when the activity has no context. */
  @ApiProperty(nullableRef(ContextResponseDto))
  context: ContextResponseDto | null;

  @ApiProperty({ type: 'string', nullable: true, example: '192.168.1.100' })
  ipAddress: string | null;

  @ApiProperty({ type: 'string', nullable: true, example: 'Mozilla/5.0 ...' })
  userAgent: string | null;

  @ApiProperty({ type: 'string', format: 'date-time', example: '2025-06-15T10:05:00.000Z' })
  timestamp: string;

  @ApiProperty({ type: 'string', format: 'date-time', example: '2025-06-15T10:05:00.120Z' })
  createdAt: string;

  @ApiProperty({ type: 'string', format: 'date-time', example: '2025-06-15T10:05:00.120Z' })
  updatedAt: string;
}

export function toActivityResponse(activity: ActivityLog): ActivityResponseDto {
  return {
    id: activity.id,
    user: activity.userId,
    action: activity.action,
    status: activity.status,
    metadata: activity.metadata,
    actor: {
      userId: activity.actorUserId,
      name: activity.actorName,
      email: activity.actorEmail,
      role: activity.actorRole,
    },
    target: activity.targetType
      ? { type: activity.targetType, id: activity.targetId, model: activity.targetModel, name: activity.targetName }
      : null,
    context: activity.contextAdditionalInfo
      ? {
          description: activity.contextDescription,
          source: activity.contextSource,
          additionalInfo: activity.contextAdditionalInfo,
        }
      : null,
    ipAddress: activity.ipAddress,
    userAgent: activity.userAgent,
    timestamp: isoTime(activity.timestamp),
    createdAt: isoTime(activity.createdAt),
    updatedAt: isoTime(activity.updatedAt),
  };
}

let lastTime = Number.NaN;
let lastIso = '';

/**
 * `date.toISOString()`, remembering the last one: toISOString costs about half a microsecond, and the times of a
 * batch (and an activity's createdAt and updatedAt) are mostly one and the same instant.
 */
function isoTime(date: Date): string {
  const time = date.getTime();
  if (time !== lastTime) {
    lastIso = date.toISOString(); // an invalid date (NaN, never cached) throws here as before
    lastTime = time;
  }
  return lastIso;
}
