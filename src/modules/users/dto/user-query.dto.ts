import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString } from 'class-validator';
import { MaxLength } from '../../../common/validation/text-length';
import { ROLES, type Role } from '../../../common/auth/auth-user';
import { QueryBoolean, QueryString } from '../../../common/http/query-transforms';
import { PageQueryDto } from '../../../common/pagination/page-query.dto';

export class UserQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: ROLES, enumName: 'Role' })
  @IsOptional()
  @IsIn(ROLES)
  role?: Role;

  /** Case-insensitive text in the email or the name. */
  @ApiPropertyOptional({ maxLength: 100 })
  @IsOptional()
  @QueryString()
  @IsString()
  @MaxLength(100)
  q?: string;

  /** Also list deleted users. */
  @ApiPropertyOptional({ type: 'boolean', default: false })
  @IsOptional()
  @QueryBoolean()
  @IsBoolean()
  includeDeleted?: boolean;
}
