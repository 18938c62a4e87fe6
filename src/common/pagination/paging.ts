import { HttpStatus } from '@nestjs/common';
import { AppException } from '../http/app.exception';
import { PageMeta } from '../http/api-result';
import { CursorCodec, CursorPosition } from './cursor';
import { PageQueryDto } from './page-query.dto';

export const DEFAULT_LIMIT = 20;

/** How one list request reads: offset pages, or keyset from a cursor. */
export interface Paging {
  limit: number;
  /** Offset mode: the page number. */
  page?: number;
  /** Keyset mode: resume after this position. */
  after?: CursorPosition;
}

export function pagingFrom(query: PageQueryDto, codec: CursorCodec, scope: string): Paging {
  const limit = query.limit ?? DEFAULT_LIMIT;
  if (query.cursor !== undefined) {
    if (query.page !== undefined) {
      throw new AppException(HttpStatus.BAD_REQUEST, 'validationFailed', {}, [
        { field: 'cursor', message: 'cursor cannot be combined with page' },
      ]);
    }
    return { limit, after: codec.decode(scope, query.cursor) };
  }
  return { limit, page: query.page ?? 1 };
}

/**
 * The `meta` of a page. `rows` holds up to limit + 1 rows (one extra tells whether more follow); `total` is
 * known in offset mode only.
 */
export function pageMeta<T>(
  rows: T[],
  paging: Paging,
  total: number | null,
  codec: CursorCodec,
  scope: string,
  positionOf: (row: T) => CursorPosition,
): { items: T[]; meta: PageMeta } {
  const items = rows.slice(0, paging.limit);
  const more = rows.length > paging.limit;
  const last = items[items.length - 1];
  return {
    items,
    meta: {
      totalItems: total,
      itemCount: items.length,
      itemsPerPage: paging.limit,
      totalPages: total === null ? null : Math.ceil(total / paging.limit),
      currentPage: paging.page ?? null,
      nextCursor: more && last !== undefined ? codec.encode(scope, positionOf(last)) : null,
    },
  };
}
