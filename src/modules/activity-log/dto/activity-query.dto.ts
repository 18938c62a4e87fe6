import { ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { ArrayMaxSize, IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Min } from 'class-validator';
import { Length, MaxLength } from '../../../common/validation/text-length';
import { QueryBoolean, QueryInt, QueryString } from '../../../common/http/query-transforms';
import { CompiledSchema } from '../../../common/validation/dto-schema';
import { TransformsOf, TransformValue } from '../../../common/validation/dto-builder';
import { PageQueryDto } from '../../../common/pagination/page-query.dto';
import { DateBound, IsDateBound } from '../../../common/pagination/time-window';
import { ACTIVITY_STATUSES, TARGET_TYPES, type TargetType } from '../activity-log.entity';

export const ORDERINGS = [
  'timestamp',
  '-timestamp',
  'createdAt',
  '-createdAt',
  'action',
  '-action',
  'status',
  '-status',
] as const;
export type Ordering = (typeof ORDERINGS)[number];

/** The filters and ordering of an activity list, shared by the list and the export. */
export class ActivityFilterDto {
  /** One action, or a comma-separated list, such as `LOGIN,VIEW_COURSE`. */
  @ApiPropertyOptional({ type: 'string' })
  @IsOptional()
  @TransformValue((value) => (typeof value === 'string' ? value.split(',').map((action) => action.trim()) : value))
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @Length(1, 100, { each: true })
  action?: string[];

  /** `COMPLETED` means `DONE`. */
  @ApiPropertyOptional({ enum: [...ACTIVITY_STATUSES, 'COMPLETED'] })
  @IsOptional()
  @IsIn([...ACTIVITY_STATUSES, 'COMPLETED'])
  status?: string;

  @ApiPropertyOptional({ enum: TARGET_TYPES, enumName: 'TargetType' })
  @IsOptional()
  @IsIn(TARGET_TYPES)
  targetType?: TargetType;

  @ApiPropertyOptional({ maxLength: 100 })
  @IsOptional()
  @QueryString()
  @IsString()
  @MaxLength(100)
  targetId?: string;

  /** The actor's `userId`, exactly: what one of a service's own users did. */
  @ApiPropertyOptional({ maxLength: 100 })
  @IsOptional()
  @QueryString()
  @IsString()
  @MaxLength(100)
  actorId?: string;

  /** The actor's email, exactly but in any case. */
  @ApiPropertyOptional({ maxLength: 254 })
  @IsOptional()
  @QueryString()
  @IsString()
  @MaxLength(254)
  actorEmail?: string;

  /** The context's source, such as `WEB_APP`. */
  @ApiPropertyOptional({ maxLength: 100 })
  @IsOptional()
  @QueryString()
  @IsString()
  @MaxLength(100)
  source?: string;

  /** From this day (`YYYY-MM-DD`, such as `2025-01-01`) or instant (ISO 8601), inclusive. */
  @ApiPropertyOptional()
  @IsOptional()
  @IsDateBound()
  start?: DateBound;

  /** Up to this day (the whole day, such as `2025-06-30`) or instant, inclusive. */
  @ApiPropertyOptional()
  @IsOptional()
  @IsDateBound()
  end?: DateBound;

  /** One day, `YYYY-MM-DD`, such as `2025-06-13`. */
  @ApiPropertyOptional()
  @IsOptional()
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'timestamp must be a day, YYYY-MM-DD' })
  @IsDateBound()
  timestamp?: DateBound;

  /** Case-insensitive text in the action, the target's name or the context's description; % and _ are literal. */
  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptional()
  @QueryString()
  @IsString()
  @MaxLength(200)
  q?: string;

  /** `timestamp`, `createdAt`, `action` or `status`, `-` in front for descending. Default `-timestamp`. */
  @ApiPropertyOptional({ enum: ORDERINGS, enumName: 'ActivityOrdering', default: '-timestamp' })
  @IsOptional()
  @IsIn(ORDERINGS)
  ordering?: Ordering;

  /** ADMIN: one user's activities. Others may pass only their own id. */
  @ApiPropertyOptional({ type: 'integer', minimum: 1 })
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1)
  userId?: number;

  /** ADMIN only: include deleted activities. */
  @ApiPropertyOptional({ type: 'boolean', default: false })
  @IsOptional()
  @QueryBoolean()
  @IsBoolean()
  includeDeleted?: boolean;
}

/** The list's query: checked by a compiled schema (dto-schema.ts), class-validator reporting what it refuses. */
@CompiledSchema()
@TransformsOf(ActivityFilterDto, PageQueryDto)
export class ActivityQueryDto extends IntersectionType(ActivityFilterDto, PageQueryDto) {}

export class ActivityExportQueryDto extends ActivityFilterDto {
  @ApiPropertyOptional({ enum: ['csv', 'ndjson'], enumName: 'ExportFormat', default: 'csv' })
  @IsOptional()
  @IsIn(['csv', 'ndjson'])
  format?: 'csv' | 'ndjson';
}
