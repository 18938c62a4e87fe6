import { ApiProperty } from '@nestjs/swagger';
import { ROLES, type Role } from '../../../common/auth/auth-user';
import { User } from '../user.entity';

/** A user as clients see it: never a password or its hash. */
export class UserResponseDto {
  @ApiProperty({ type: 'integer', example: 4 })
  id: number;

  @ApiProperty({ example: 'john@example.com' })
  email: string;

  @ApiProperty({ example: 'John Doe' })
  name: string;

  @ApiProperty({ enum: ROLES, enumName: 'Role', example: 'PARTICIPANT' })
  role: Role;

  @ApiProperty({ type: 'string', format: 'date-time', example: '2025-06-15T10:05:00.120Z' })
  createdAt: string;

  @ApiProperty({ type: 'string', format: 'date-time', example: '2025-06-15T10:05:00.120Z' })
  updatedAt: string;
}

export function toUserResponse(user: User): UserResponseDto {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}
