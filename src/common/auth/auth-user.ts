export const ROLES = ['ADMIN', 'INSTRUCTOR', 'PARTICIPANT'] as const;
export type Role = (typeof ROLES)[number];

/** The signed-in caller, as the access token and its live session say. */
export interface AuthUser {
  id: number;
  email: string;
  /** As when the access token was issued. */
  name: string;
  role: Role;
  /** The login (session) the access token belongs to; null for a caller signed in with an API key. */
  sessionId: string | null;
  /** Set when the caller signed in with an API key: the key, and what it may do. */
  apiKey?: { id: number; scopes: readonly string[] };
}
