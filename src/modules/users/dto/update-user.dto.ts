import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsString, ValidateIf } from 'class-validator';
import { Length } from '../../../common/validation/text-length';
import { ROLES, type Role } from '../../../common/auth/auth-user';

/** Absent leaves the field alone; null is validated (and refused): neither field can be emptied. */
const IfPresent = () => ValidateIf((_object: object, value: unknown) => value !== undefined);

export class UpdateUserDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 100, example: 'Jane Doe' })
  @IfPresent()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @Length(1, 100)
  name?: string;

  /** A role change ends all of that user's logins. */
  @ApiPropertyOptional({ enum: ROLES, enumName: 'Role' })
  @IfPresent()
  @IsIn(ROLES)
  role?: Role;
}
