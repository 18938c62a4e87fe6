export const ROLES = ['ADMIN', 'INSTRUCTOR', 'PARTICIPANT'] as const;
export type Role = (typeof ROLES)[number];

/** The signed-in caller, as the access token and its live session say. */
export interface AuthUser {
  id: number;
  email: string;
  /** As when the access token was issued. */
  name: string;
  role: Role;
  /** The login (session) the access token belongs to. */
  sessionId: string;
}
