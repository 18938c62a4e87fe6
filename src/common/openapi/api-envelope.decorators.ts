import { applyDecorators, Type } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiPropertyOptional, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { STATUS_MESSAGES } from '../i18n/messages';

export class ErrorDetailDto {
  /** The failing field's path, such as `items[3].action`. */
  @ApiProperty({ example: 'action' })
  field: string;

  /** What is wrong with it, in English. */
  @ApiProperty({ example: 'action must be shorter than or equal to 100 characters' })
  message: string;
}

export class ErrorBodyDto {
  /** `HTTP_<status>`. */
  @ApiProperty({ example: 'HTTP_404', pattern: '^HTTP_\\d{3}$' })
  code: string;

  /** Human-readable, in the language the request asked for. */
  @ApiProperty({ example: 'Audit Log with ID 999 not found' })
  message: string;

  /** Field errors of a failed validation, else null. */
  @ApiProperty({ type: [ErrorDetailDto], nullable: true })
  details: ErrorDetailDto[] | null;
}

export class ErrorEnvelopeDto {
  @ApiProperty({ enum: [false] })
  success: false;

  @ApiProperty({ type: ErrorBodyDto })
  error: ErrorBodyDto;

  /** Equals the `X-Request-Id` response header. */
  @ApiProperty({ example: '0b6c1a7e-3f52-4f8e-9d0e-6a1f6f0c2a11' })
  requestId: string;
}

export class PageMetaDto {
  /** Null in keyset (cursor) mode. */
  @ApiProperty({ type: 'integer', nullable: true, example: 42 })
  totalItems: number | null;

  @ApiProperty({ type: 'integer', example: 20 })
  itemCount: number;

  @ApiProperty({ type: 'integer', example: 20 })
  itemsPerPage: number;

  /** Null in keyset (cursor) mode. */
  @ApiProperty({ type: 'integer', nullable: true, example: 3 })
  totalPages: number | null;

  /** Null in keyset (cursor) mode. */
  @ApiProperty({ type: 'integer', nullable: true, example: 1 })
  currentPage: number | null;

  /** Pass back as `cursor` for the next page; null on the last page. */
  @ApiPropertyOptional({ type: 'string', nullable: true, example: null })
  nextCursor: string | null;
}

interface EnvelopeOptions {
  status?: number;
  description?: string;
  isArray?: boolean;
  paginated?: boolean;
  /** The envelope `message` when it is not "Success". */
  message?: string;
}

/**
 * Documents a success response as the envelope around `model`: `{ success, message, data[, meta] }`.
 * A `null` model: `data` is always null.
 */
export function ApiEnvelope(model: Type<unknown> | null, options: EnvelopeOptions = {}) {
  const { status = 200, isArray = false, paginated = false } = options;
  const data = !model
    ? { type: 'object', nullable: true, enum: [null], description: 'Always null' }
    : isArray || paginated
      ? { type: 'array', items: { $ref: getSchemaPath(model) } }
      : { $ref: getSchemaPath(model) };
  const schema = {
    type: 'object',
    required: ['success', 'message', 'data', ...(paginated ? ['meta'] : [])],
    properties: {
      success: { type: 'boolean', enum: [true] },
      message: { type: 'string', example: options.message ?? 'Success' },
      data,
      ...(paginated ? { meta: { $ref: getSchemaPath(PageMetaDto) } } : {}),
    },
  };
  return applyDecorators(
    ...(model ? [ApiExtraModels(model)] : []),
    ...(paginated ? [ApiExtraModels(PageMetaDto)] : []),
    ApiResponse({
      status,
      description: options.description ?? (status === 201 ? 'Created' : 'Success'),
      content: { 'application/json': { schema } },
    }),
  );
}

/** Documents the error envelope for each status (400, 401, 403, 404, 409, 429, ...). Errors are always JSON. */
export function ApiErrors(...statuses: number[]) {
  return applyDecorators(
    ApiExtraModels(ErrorEnvelopeDto),
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: STATUS_MESSAGES[status]?.en ?? 'Error',
        content: { 'application/json': { schema: { $ref: getSchemaPath(ErrorEnvelopeDto) } } },
      }),
    ),
  );
}
