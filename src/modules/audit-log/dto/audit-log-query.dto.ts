import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Min } from 'class-validator';
import { MaxLength } from '../../../common/validation/text-length';
import { QueryInt, QueryString, UpperCase } from '../../../common/http/query-transforms';
import { PageQueryDto } from '../../../common/pagination/page-query.dto';
import { DateBound, IsDateBound, timeWindow } from '../../../common/pagination/time-window';
import { AUDIT_ACTIONS, AUDITED_ENTITIES, type AuditAction, type AuditedEntity } from '../audit-log.entity';
import { AUDIT_SORT_COLUMNS, AuditLogFilters, type AuditSortBy } from '../audit-log.repository';

const SORT_BY = Object.keys(AUDIT_SORT_COLUMNS) as AuditSortBy[];

/** The parameters of GET /audit-logs, snake_case, as the API names them. */
export class AuditLogQueryDto extends PageQueryDto {
  /** Sort field; default `created_at`. `entity_id` sorts as text. */
  @ApiPropertyOptional({ enum: SORT_BY, enumName: 'AuditSortBy', default: 'created_at' })
  @IsOptional()
  @IsIn(SORT_BY)
  sort_by?: AuditSortBy;

  /** `ASC` or `DESC`, any case; default `DESC`. */
  @ApiPropertyOptional({ enum: ['ASC', 'DESC'], enumName: 'SortOrder', default: 'DESC' })
  @IsOptional()
  @UpperCase()
  @IsIn(['ASC', 'DESC'])
  sort_order?: 'ASC' | 'DESC';

  @ApiPropertyOptional({ enum: AUDIT_ACTIONS, enumName: 'AuditAction' })
  @IsOptional()
  @IsIn(AUDIT_ACTIONS)
  action?: AuditAction;

  @ApiPropertyOptional({ enum: AUDITED_ENTITIES, enumName: 'AuditEntityType' })
  @IsOptional()
  @IsIn(AUDITED_ENTITIES)
  entity_type?: AuditedEntity;

  @ApiPropertyOptional({ maxLength: 100 })
  @IsOptional()
  @QueryString()
  @IsString()
  @MaxLength(100)
  entity_id?: string;

  /** The acting user's id. */
  @ApiPropertyOptional({ type: 'integer', minimum: 1 })
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1)
  user_id?: number;

  /** From this day (`YYYY-MM-DD`, such as `2024-12-01`) or instant (ISO 8601), inclusive. */
  @ApiPropertyOptional()
  @IsOptional()
  @IsDateBound()
  start_date?: DateBound;

  /** Up to this day (the whole day, such as `2024-12-31`) or instant, inclusive. */
  @ApiPropertyOptional()
  @IsOptional()
  @IsDateBound()
  end_date?: DateBound;

  filters(): AuditLogFilters {
    const { from, to } = timeWindow(this.start_date, this.end_date, 'start_date', 'end_date');
    return {
      action: this.action,
      entityType: this.entity_type,
      entityId: this.entity_id,
      userId: this.user_id,
      from,
      to,
    };
  }
}
