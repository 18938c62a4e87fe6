import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsEmail,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  registerDecorator,
  ValidateNested,
} from 'class-validator';
import { Length, MaxLength } from '../../../common/validation/text-length';
import { ROLES, type Role } from '../../../common/auth/auth-user';
import { FreeJson } from '../../../common/http/free-json';
import { CompiledSchema } from '../../../common/validation/dto-schema';
import { TransformValue } from '../../../common/validation/dto-builder';
import { ISO_DATE_TIME } from '../../../common/pagination/time-window';
import {
  ACTIVITY_STATUSES,
  TARGET_MODELS,
  TARGET_TYPES,
  type TargetModel,
  type TargetType,
} from '../activity-log.entity';

export const METADATA_MAX_BYTES = 16 * 1024;
export const FUTURE_TOLERANCE_MS = 5 * 60_000;

const trim = () => TransformValue((value) => (typeof value === 'string' ? value.trim() : value));

/** A JSON object whose compact UTF-8 serialization is at most `bytes` long. */
function MaxJsonBytes(bytes: number) {
  return (target: object, property: string) =>
    registerDecorator({
      name: 'maxJsonBytes',
      target: target.constructor,
      propertyName: property,
      validator: {
        validate: (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? '') <= bytes,
        defaultMessage: () => `${property} must be at most ${bytes} bytes of JSON`,
      },
    });
}

/** Year 1 (UTC): timestamptz reaches further back, but not through the ISO text of a JavaScript Date (year 0000). */
const EARLIEST_TIME_MS = Date.parse('0001-01-01T00:00:00.000Z');

/** An ISO 8601 date-time with a zone, from year 1 to at most five minutes in the future. */
function IsActivityTime() {
  return (target: object, property: string) =>
    registerDecorator({
      name: 'isActivityTime',
      target: target.constructor,
      propertyName: property,
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' &&
          ISO_DATE_TIME.test(value) &&
          Date.parse(value) >= EARLIEST_TIME_MS &&
          Date.parse(value) <= Date.now() + FUTURE_TOLERANCE_MS,
        defaultMessage: () =>
          `${property} must be an ISO 8601 date-time with a time zone, at most 5 minutes in the future`,
      },
    });
}

export class ActorDto {
  @ApiPropertyOptional({ maxLength: 100, example: '4' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  userId?: string;

  @ApiProperty({ minLength: 1, maxLength: 100, example: 'John Doe' })
  @trim()
  @IsString()
  @Length(1, 100)
  name: string;

  @ApiProperty({ format: 'email', maxLength: 100, example: 'john@example.com' })
  @trim()
  @IsEmail()
  @MaxLength(100)
  email: string;

  /** The actor's role. */
  @ApiPropertyOptional({ enum: ROLES, enumName: 'Role', example: 'PARTICIPANT' })
  @IsOptional()
  @IsIn(ROLES)
  role?: Role;
}

export class TargetDto {
  @ApiProperty({ enum: TARGET_TYPES, enumName: 'TargetType', example: 'FILE' })
  @IsIn(TARGET_TYPES)
  type: TargetType;

  @ApiPropertyOptional({ maxLength: 100, example: '68ba5cdc809c41ef914ad23d' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  id?: string;

  @ApiPropertyOptional({ enum: TARGET_MODELS, enumName: 'TargetModel', example: 'File' })
  @IsOptional()
  @IsIn(TARGET_MODELS)
  model?: TargetModel;

  @ApiPropertyOptional({ maxLength: 200, example: 'Course Material.pdf' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;
}

export class ContextDto {
  @ApiPropertyOptional({ maxLength: 500, example: 'Downloaded course material' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;

  @ApiPropertyOptional({ maxLength: 100, example: 'WEB_APP' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  source?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: {} })
  @IsOptional()
  @FreeJson()
  @IsObject()
  additionalInfo?: Record<string, unknown>;
}

/** Checked by a compiled schema before class-validator (these bodies come by the thousand); see dto-schema.ts. */
@CompiledSchema()
export class CreateActivityDto {
  /** What was done, such as LOGIN, VIEW_COURSE or DOWNLOAD_FILE. Trimmed. */
  @ApiProperty({ minLength: 1, maxLength: 100, example: 'DOWNLOAD_FILE' })
  @trim()
  @IsString()
  @Length(1, 100)
  action: string;

  @ApiPropertyOptional({ enum: ACTIVITY_STATUSES, enumName: 'ActivityStatus', default: 'PENDING' })
  @IsOptional()
  @IsIn(ACTIVITY_STATUSES)
  status?: (typeof ACTIVITY_STATUSES)[number];

  /** Any JSON object, at most 16 KiB. */
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { fileSize: '2.5MB', downloadTime: '3.2s' },
  })
  @IsOptional()
  @FreeJson()
  @IsObject()
  @MaxJsonBytes(METADATA_MAX_BYTES)
  metadata?: Record<string, unknown>;

  /** Who performed it; default: the signed-in user. */
  @ApiPropertyOptional({ type: ActorDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ActorDto)
  actor?: ActorDto;

  @ApiPropertyOptional({ type: TargetDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => TargetDto)
  target?: TargetDto;

  @ApiPropertyOptional({ type: ContextDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ContextDto)
  context?: ContextDto;

  /** When it happened; default: when received. At most 5 minutes in the future. */
  @ApiPropertyOptional({ type: 'string', format: 'date-time', example: '2025-06-15T10:05:00.000Z' })
  @IsOptional()
  @IsActivityTime()
  timestamp?: string;
}

@CompiledSchema()
export class CreateActivityBatchDto {
  /** 1 to 1000 activities, stored together or not at all. */
  @ApiProperty({ type: [CreateActivityDto], minItems: 1, maxItems: 1000 })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  // ValidateNested passes an item that is itself an array (it validates that array's elements instead).
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => CreateActivityDto)
  items: CreateActivityDto[];
}

export class UpdateStatusDto {
  /** `PENDING`, `IN_PROGRESS`, `DONE` (or its synonym `COMPLETED`), `FAILED`. */
  @ApiProperty({ enum: [...ACTIVITY_STATUSES, 'COMPLETED'], example: 'DONE' })
  @IsString()
  status: string;
}
