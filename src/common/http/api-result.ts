import { MessageKey } from '../i18n/messages';

/** The `meta` of every list. Keyset pages may omit the totals (`null`). */
export interface PageMeta {
  totalItems: number | null;
  itemCount: number;
  itemsPerPage: number;
  totalPages: number | null;
  currentPage: number | null;
  nextCursor: string | null;
}

/** A list page as services answer it: its items and `meta`. */
export interface Page<T> {
  items: T[];
  meta: PageMeta;
}

/**
 * A list page already serialized: the JSON text of its `data` and of its `meta`. The envelope interceptor splices
 * them into the response as they are, so a page read from the cache is neither parsed nor serialized again.
 */
export interface SerializedPage {
  data: string;
  meta: string;
}

/**
 * What a handler returns when the envelope needs more than `data`: a message other than "Success", or list `meta`.
 * A handler that returns anything else gets `{ success: true, message: "Success", data: <it> }`.
 */
export class ApiResult<T> {
  /** Response headers to set, such as Location or X-Cache. */
  readonly headers: Record<string, string> = {};

  private constructor(
    readonly data: T,
    readonly message: MessageKey,
    readonly params: Record<string, string | number>,
    readonly meta?: PageMeta,
    readonly serialized?: SerializedPage,
  ) {}

  withHeaders(headers: Record<string, string>): this {
    Object.assign(this.headers, headers);
    return this;
  }

  static of<T>(data: T, message: MessageKey = 'success', params: Record<string, string | number> = {}): ApiResult<T> {
    return new ApiResult(data, message, params);
  }

  static page<T>(items: T[], meta: PageMeta): ApiResult<T[]>;
  static page<T>(page: Page<T>): ApiResult<T[]>;
  static page<T>(itemsOrPage: T[] | Page<T>, meta?: PageMeta): ApiResult<T[]> {
    if (Array.isArray(itemsOrPage)) return new ApiResult(itemsOrPage, 'success', {}, meta);
    return new ApiResult(itemsOrPage.items, 'success', {}, itemsOrPage.meta);
  }

  /** A page given as JSON text (`data` is then not set: the text is the page). */
  static serializedPage<T>(page: SerializedPage): ApiResult<T[]> {
    return new ApiResult(undefined as unknown as T[], 'success', {}, undefined, page);
  }
}
