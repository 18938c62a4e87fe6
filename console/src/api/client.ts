import { Session, session, setSession, User } from './session';

/** An answer that is not a success, with the API's message (in the browser's language) and its field errors. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: { field: string; message: string }[] | null = null,
  ) {
    super(message);
  }
}

export interface Page<T> {
  data: T[];
  meta: { totalItems: number | null; nextCursor: string | null };
}

interface Envelope {
  success: boolean;
  data?: unknown;
  meta?: Page<unknown>['meta'];
  error?: { message: string; details: { field: string; message: string }[] | null };
}

const API = '/api/v1';
/** The access token is renewed when less than this is left of it. */
const RENEW_BEFORE_MS = 60_000;

let renewing: Promise<void> | null = null;

interface Tokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: User;
}

function toSession(tokens: Tokens): Session {
  return {
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    expiresAt: Date.now() + tokens.expiresIn * 1000,
    user: tokens.user,
  };
}

/** Trades the refresh token for new tokens, once at a time; a refused one ends the session. */
function renew(current: Session): Promise<void> {
  renewing ??= (async () => {
    try {
      const tokens = await send<Tokens>('POST', '/auth/refresh', { refreshToken: current.refreshToken }, null);
      setSession({ ...toSession(tokens), user: tokens.user ?? current.user });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) setSession(null);
      throw error;
    } finally {
      renewing = null;
    }
  })();
  return renewing;
}

/** A token that is good for a while yet: renewed first when it is about to run out. */
async function freshToken(): Promise<string | null> {
  const current = session();
  if (!current) return null;
  if (current.expiresAt - Date.now() < RENEW_BEFORE_MS) await renew(current);
  return session()?.accessToken ?? null;
}

/** The answer's envelope; an ApiError unless it says success. */
async function envelopeOf(response: Response): Promise<Envelope> {
  const envelope = (await response.json().catch(() => null)) as Envelope | null;
  if (!response.ok || !envelope?.success) {
    throw new ApiError(response.status, envelope?.error?.message ?? response.statusText, envelope?.error?.details);
  }
  return envelope;
}

async function send<T>(method: string, path: string, body: unknown, token: string | null): Promise<T> {
  return (await envelopeOf(await raw(method, path, body, token))).data as T;
}

function raw(method: string, path: string, body: unknown, token: string | null): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(`${API}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

/** A call with the signed-in user's token, which is renewed first when it is about to run out. */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  return send<T>(method, path, body, await freshToken());
}

/** A list page: its items and `meta`. */
export async function list<T>(path: string): Promise<Page<T>> {
  const envelope = await envelopeOf(await raw('GET', path, undefined, await freshToken()));
  return { data: envelope.data as T[], meta: envelope.meta! };
}

/** A download (an export): the file's blob and name. */
export async function download(path: string): Promise<{ blob: Blob; name: string }> {
  const response = await raw('GET', path, undefined, await freshToken());
  if (!response.ok) await envelopeOf(response);
  const disposition = response.headers.get('content-disposition') ?? '';
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? 'export';
  return { blob: await response.blob(), name };
}

export async function signIn(email: string, password: string): Promise<void> {
  setSession(toSession(await send<Tokens>('POST', '/auth/login', { email, password }, null)));
}

/** Ends the login at the API too; the session goes whatever the answer. */
export async function signOut(): Promise<void> {
  try {
    await call('POST', '/auth/logout');
  } finally {
    setSession(null);
  }
}

/** Renews the tokens shortly before they run out, while the tab is open. */
export function keepSessionFresh(): () => void {
  const timer = setInterval(() => {
    const current = session();
    if (current && current.expiresAt - Date.now() < RENEW_BEFORE_MS) void renew(current).catch(() => undefined);
  }, 15_000);
  return () => clearInterval(timer);
}
