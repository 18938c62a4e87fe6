import { AsyncLocalStorage } from 'node:async_hooks';
import { Language } from '../i18n/language';

/** What every layer may want to know about the request it serves, without it being passed by hand. */
export interface RequestContext {
  requestId: string;
  ipAddress: string;
  userAgent: string | null;
  language: Language;
  /** The client sent `Cache-Control: no-cache` (or `no-store`): answer from the source, not a cache. */
  noCache: boolean;
  /** Set by authentication once the caller is known. */
  userId?: number;
  userEmail?: string;
  /** Set when the caller signed in with an API key: the key's id, which the audit entries it causes name. */
  apiKeyId?: number;
}

const storage = new AsyncLocalStorage<RequestContext>();

export const RequestContextStore = {
  run<T>(context: RequestContext, fn: () => T): T {
    return storage.run(context, fn);
  },
  /** The current request's context, or undefined outside a request (CLI, jobs). */
  current(): RequestContext | undefined {
    return storage.getStore();
  },
};
