import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { MaxLength } from '../validation/text-length';
import { QueryInt } from '../http/query-transforms';

/** `page`, `limit` and `cursor`, shared by every list. */
export class PageQueryDto {
  /** Page number, from 1. Not together with `cursor`. */
  @ApiPropertyOptional({ type: 'integer', minimum: 1, default: 1 })
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1)
  page?: number;

  /** Items per page, 1 to 100. */
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  /** `meta.nextCursor` of the previous page, for keyset reading at any depth. Same filters and ordering only. */
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  cursor?: string;
}
