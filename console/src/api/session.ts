/** Who is signed in, and with which tokens: kept for this tab only (sessionStorage), never in a cookie. */
export interface User {
  id: number;
  email: string;
  name: string;
  role: 'ADMIN' | 'INSTRUCTOR' | 'PARTICIPANT';
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** When the access token runs out (ms since the epoch). */
  expiresAt: number;
  user: User;
}

const KEY = 'logbook.session';
const listeners = new Set<(session: Session | null) => void>();
let current: Session | null = read();

function read(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function session(): Session | null {
  return current;
}

export function setSession(next: Session | null): void {
  current = next;
  if (next) sessionStorage.setItem(KEY, JSON.stringify(next));
  else sessionStorage.removeItem(KEY);
  for (const listener of listeners) listener(next);
}

/** Calls `listener` on every change; answers the function that stops it. */
export function onSession(listener: (session: Session | null) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
