import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsString } from 'class-validator';
import { Length, MaxLength } from '../../../common/validation/text-length';
import { UserResponseDto } from '../../users/dto/user-response.dto';

const trimmed = () => Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value));
const email = () =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value));

export class RegisterDto {
  /** Unique regardless of case; stored lower-cased. */
  @ApiProperty({ format: 'email', maxLength: 254, example: 'john@example.com' })
  @email()
  @IsEmail()
  @MaxLength(254)
  email: string;

  @ApiProperty({ minLength: 8, maxLength: 128, example: 'correct horse battery' })
  @IsString()
  @Length(8, 128)
  password: string;

  @ApiProperty({ minLength: 1, maxLength: 100, example: 'John Doe' })
  @trimmed()
  @IsString()
  @Length(1, 100)
  name: string;
}

export class LoginDto {
  @ApiProperty({ example: 'john@example.com' })
  @email()
  @IsString()
  @Length(1, 254)
  email: string;

  @ApiProperty({ example: 'correct horse battery' })
  @IsString()
  @Length(1, 1024)
  password: string;
}

export class RefreshDto {
  /** The refreshToken of the last sign-in or refresh; each is good for one use. */
  @ApiProperty({ example: 'q9bWQd0sJ6uX5cW1c7cFq1vV3v8o3m2bQ4h2H0e1xYk' })
  @IsString()
  @Length(1, 200)
  refreshToken: string;
}

export class ChangePasswordDto {
  @ApiProperty({ example: 'correct horse battery' })
  @IsString()
  @Length(1, 1024)
  currentPassword: string;

  @ApiProperty({ minLength: 8, maxLength: 128, example: 'another horse battery' })
  @IsString()
  @Length(8, 128)
  newPassword: string;
}

export class AuthResponseDto {
  @ApiProperty({ type: UserResponseDto })
  user: UserResponseDto;

  /** A JWT for `Authorization: Bearer <accessToken>`. */
  @ApiProperty({ example: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...' })
  accessToken: string;

  /** Opaque; exchange it at /auth/refresh for a new pair. Single use. */
  @ApiProperty({ example: 'q9bWQd0sJ6uX5cW1c7cFq1vV3v8o3m2bQ4h2H0e1xYk' })
  refreshToken: string;

  @ApiProperty({ enum: ['Bearer'], example: 'Bearer' })
  tokenType: 'Bearer';

  /** Seconds until the access token expires. */
  @ApiProperty({ type: 'integer', example: 900 })
  expiresIn: number;
}
