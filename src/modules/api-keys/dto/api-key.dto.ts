import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  Matches,
  Min,
} from 'class-validator';
import { QueryInt } from '../../../common/http/query-transforms';
import { PageQueryDto } from '../../../common/pagination/page-query.dto';
import { Length } from '../../../common/validation/text-length';
import { API_KEY_SCOPES, type ApiKeyScope } from '../api-key-scopes';
import type { ApiKey } from '../api-key.entity';

export class CreateApiKeyDto {
  /** What the key is for, to recognise it by. */
  @ApiProperty({ minLength: 1, maxLength: 100, example: 'billing service' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @Length(1, 100)
  name: string;

  /** At least one; `audit:read` only for an ADMIN's key. */
  @ApiProperty({
    type: 'array',
    items: { type: 'string', enum: [...API_KEY_SCOPES] },
    minItems: 1,
    uniqueItems: true,
    example: ['activities:write'],
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(API_KEY_SCOPES, { each: true })
  scopes: ApiKeyScope[];

  /** When the key stops working; in the future. Unset: never. */
  @ApiPropertyOptional({ type: 'string', format: 'date-time', example: '2027-01-01T00:00:00.000Z' })
  @IsOptional()
  @IsString()
  @IsISO8601({ strict: true, strictSeparator: true })
  @Matches(/(Z|[+-]\d{2}:\d{2})$/, { message: 'expiresAt must name its time zone (Z or ±hh:mm)' })
  expiresAt?: string;

  /** The user the key acts as (an ADMIN only); default the caller. */
  @ApiPropertyOptional({ type: 'integer', minimum: 1, example: 7 })
  @IsOptional()
  @IsInt()
  @Min(1)
  userId?: number;
}

export class ApiKeyQueryDto extends PageQueryDto {
  /** Whose keys (an ADMIN: anyone's; others: only their own). */
  @ApiPropertyOptional({ type: 'integer', minimum: 1 })
  @IsOptional()
  @QueryInt()
  @IsInt()
  @Min(1)
  userId?: number;
}

/** A key as listed: never the key itself. */
export class ApiKeyResponseDto {
  @ApiProperty({ type: 'integer', example: 3 })
  id: number;

  @ApiProperty({ example: 'billing service' })
  name: string;

  @ApiProperty({ type: 'array', items: { type: 'string', enum: [...API_KEY_SCOPES] }, example: ['activities:write'] })
  scopes: ApiKeyScope[];

  /** The user the key acts as. */
  @ApiProperty({ type: 'integer', example: 7 })
  userId: number;

  /** The key's first 12 characters. */
  @ApiProperty({ example: 'lbk_Zm9vYmFy' })
  prefix: string;

  @ApiProperty({ type: 'string', format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  expiresAt: string | null;

  /** Updated at most once a minute. */
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  lastUsedAt: string | null;
}

/** The answer to creating a key: the only time `key` is shown. */
export class CreatedApiKeyDto extends ApiKeyResponseDto {
  /** The key: send it as `X-API-Key` or `Authorization: Bearer`. Shown once; only its hash is kept. */
  @ApiProperty({ example: 'lbk_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5' })
  key: string;
}

export function toApiKeyResponse(key: ApiKey): ApiKeyResponseDto {
  return {
    id: key.id,
    name: key.name,
    scopes: key.scopes,
    userId: key.userId,
    prefix: key.prefix,
    createdAt: key.createdAt.toISOString(),
    expiresAt: key.expiresAt?.toISOString() ?? null,
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
  };
}
