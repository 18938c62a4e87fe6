import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  IsISO8601,
  IsUrl,
  Matches,
  ValidateIf,
} from 'class-validator';
import { PageQueryDto } from '../../../common/pagination/page-query.dto';
import { Length } from '../../../common/validation/text-length';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../webhook-delivery.entity';
import type { DeliveryRow } from '../webhook-deliveries.repository';
import type { WebhookEndpoint } from '../webhook-endpoint.entity';
import {
  WEBHOOK_EVENT_CHOICES,
  WEBHOOK_EVENT_TYPES,
  type WebhookEventChoice,
  type WebhookEventType,
} from '../webhook-events';

const trimmed = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const URL_RULES = {
  protocols: ['http', 'https'],
  require_protocol: true,
  require_tld: false,
  allow_underscores: true,
  disallow_auth: true,
};
const EVENTS_SCHEMA: ApiPropertyOptions = {
  type: 'array',
  items: { type: 'string', enum: [...WEBHOOK_EVENT_CHOICES] },
  minItems: 1,
  maxItems: WEBHOOK_EVENT_CHOICES.length,
  uniqueItems: true,
  example: ['activity.created', 'audit.created'],
};

export class CreateWebhookDto {
  /** Where deliveries are POSTed: http or https, no user or password in it. */
  @ApiProperty({ format: 'uri', maxLength: 2048, example: 'https://siem.example.com/hooks/logbook' })
  @Transform(trimmed)
  @IsString()
  @Length(1, 2048)
  @IsUrl(URL_RULES, { message: 'url must be an http or https URL without a user or password' })
  url: string;

  /** The event types wanted, or `["*"]` for all. */
  @ApiProperty(EVENTS_SCHEMA)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(WEBHOOK_EVENT_CHOICES.length)
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENT_CHOICES, { each: true })
  events: WebhookEventChoice[];

  @ApiPropertyOptional({ maxLength: 500, nullable: true, example: 'SIEM ingestion' })
  @IsOptional()
  @Transform(trimmed)
  @IsString()
  @Length(0, 500)
  description?: string | null;
}

export class UpdateWebhookDto {
  @ApiPropertyOptional({ format: 'uri', maxLength: 2048, example: 'https://siem.example.com/hooks/logbook' })
  @IsOptional()
  @Transform(trimmed)
  @IsString()
  @Length(1, 2048)
  @IsUrl(URL_RULES, { message: 'url must be an http or https URL without a user or password' })
  url?: string;

  @ApiPropertyOptional(EVENTS_SCHEMA)
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(WEBHOOK_EVENT_CHOICES.length)
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENT_CHOICES, { each: true })
  events?: WebhookEventChoice[];

  /** null clears it. */
  @ApiPropertyOptional({ maxLength: 500, nullable: true, example: 'SIEM ingestion' })
  @ValidateIf((dto: UpdateWebhookDto) => dto.description !== undefined && dto.description !== null)
  @Transform(trimmed)
  @IsString()
  @Length(0, 500)
  description?: string | null;

  /** false: nothing is sent to it until it is enabled again. */
  @ApiPropertyOptional({ example: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

/** An endpoint as listed: never its secret. */
export class WebhookResponseDto {
  @ApiProperty({ type: 'integer', example: 4 })
  id: number;

  @ApiProperty({ format: 'uri', example: 'https://siem.example.com/hooks/logbook' })
  url: string;

  @ApiProperty({ type: 'array', items: { type: 'string', enum: [...WEBHOOK_EVENT_CHOICES] }, example: ['*'] })
  events: WebhookEventChoice[];

  @ApiProperty({ type: 'string', nullable: true, example: 'SIEM ingestion' })
  description: string | null;

  /** false after an ADMIN disabled it, or after it failed every delivery for WEBHOOK_DISABLE_AFTER. */
  @ApiProperty()
  enabled: boolean;

  @ApiProperty({ type: 'string', format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: 'string', format: 'date-time' })
  updatedAt: string;
}

export class WebhookSecretDto {
  /** `whsec_` and the base64 of 32 random bytes: the key of the signatures. Shown here only; keep it. */
  @ApiProperty({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw9bVtOdZBHQs=' })
  secret: string;
}

/** The answer to creating an endpoint: the only time, with a rotation, that `secret` is shown. */
export class CreatedWebhookDto extends WebhookResponseDto {
  @ApiProperty({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw9bVtOdZBHQs=' })
  secret: string;
}

export function toWebhookResponse(endpoint: WebhookEndpoint): WebhookResponseDto {
  return {
    id: endpoint.id,
    url: endpoint.url,
    events: endpoint.events,
    description: endpoint.description,
    enabled: endpoint.enabled,
    createdAt: endpoint.createdAt.toISOString(),
    updatedAt: endpoint.updatedAt.toISOString(),
  };
}

export class DeliveryQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: [...DELIVERY_STATUSES], enumName: 'DeliveryStatus' })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;
}

/** One attempt to deliver one event. */
export class DeliveryResponseDto {
  @ApiProperty({ type: 'integer', example: 812 })
  id: number;

  /** The event's id, the `webhook-id` header of every attempt. */
  @ApiProperty({ example: 'evt_4f0c6c0e3a5a4bb5a3d1f2e9c8b7a6d5' })
  eventId: string;

  @ApiProperty({ enum: [...WEBHOOK_EVENT_TYPES], enumName: 'WebhookEventType', example: 'activity.created' })
  eventType: WebhookEventType;

  /** 1 for the first attempt. */
  @ApiProperty({ type: 'integer', minimum: 1, example: 1 })
  attempt: number;

  /** `pending` until the receiver answered (or did not in time). */
  @ApiProperty({ enum: [...DELIVERY_STATUSES], enumName: 'DeliveryStatus', example: 'succeeded' })
  status: DeliveryStatus;

  @ApiProperty({ type: 'integer', nullable: true, example: 200 })
  responseStatus: number | null;

  @ApiProperty({ type: 'integer', nullable: true, example: 41 })
  durationMs: number | null;

  /** Why it failed: no answer within 10 s, a refused connection, a status that is not 2xx. */
  @ApiProperty({ type: 'string', nullable: true, example: null })
  error: string | null;

  @ApiProperty({ type: 'string', format: 'date-time' })
  createdAt: string;

  /** When the next attempt is due; null when none follows. */
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  nextAttemptAt: string | null;
}

export class ReplayWebhookDto {
  /** Every event since this time (at most 10,000) is sent again, with its first id. */
  @ApiProperty({ type: 'string', format: 'date-time', example: '2026-12-01T00:00:00.000Z' })
  @IsString()
  @IsISO8601({ strict: true, strictSeparator: true })
  @Matches(/(Z|[+-]\d{2}:\d{2})$/, { message: 'since must name its time zone (Z or ±hh:mm)' })
  since: string;
}

export class ReplayQueuedDto {
  /** How many events were queued to be sent again. */
  @ApiProperty({ type: 'integer', example: 120 })
  events: number;
}

export class TestEventDto {
  /** The `webhook.test` event's id. */
  @ApiProperty({ example: 'evt_4f0c6c0e3a5a4bb5a3d1f2e9c8b7a6d5' })
  eventId: string;
}

export function toDeliveryResponse(row: DeliveryRow): DeliveryResponseDto {
  return {
    ...row,
    createdAt: row.createdAt.toISOString(),
    nextAttemptAt: row.nextAttemptAt?.toISOString() ?? null,
  };
}
