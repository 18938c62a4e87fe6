import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsOptional, IsString } from 'class-validator';
import { Length } from '../../../common/validation/text-length';
import { ROLES, type Role } from '../../../common/auth/auth-user';

export class UpdateUserDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 100, example: 'Jane Doe' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @Length(1, 100)
  name?: string;

  /** A role change ends all of that user's logins. */
  @ApiPropertyOptional({ enum: ROLES, enumName: 'Role' })
  @IsOptional()
  @IsIn(ROLES)
  role?: Role;
}
