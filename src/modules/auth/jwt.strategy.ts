import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { verify } from 'jsonwebtoken';
import { AuthUser, ROLES } from '../../common/auth/auth-user';
import { RequestStrategy } from '../../common/auth/request-strategy';
import { RequestContextStore } from '../../common/context/request-context';
import { AppSecrets } from '../../config/secrets';
import { SessionStateService } from './session-state.service';
import { AccessTokenClaims, JWT_ALGORITHM } from './token.service';

/** The passport name of Logbook's own access tokens. */
export const JWT_STRATEGY = 'jwt';

const AUTHORIZATION = /^(?:Bearer|Token)\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i;

/** `Authorization: Bearer <token>`, or `Token <token>` as older clients send it; only a JWT's shape is taken. */
export function tokenFromRequest(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  return (header && AUTHORIZATION.exec(header.trim())?.[1]) || null;
}

/** How many verified access tokens a process remembers (a few MB at most; the oldest is forgotten first). */
export const VERIFIED_TOKENS_MAX = 10_000;

/** The claims as jsonwebtoken hands them over: Logbook's (not yet checked) and the registered ones it set. */
type VerifiedClaims = Partial<AccessTokenClaims> & { exp?: number };

/**
 * Logbook's access token: its signature (HS256 only) and expiry, then that its login is still live.
 *
 * A client sends the same access token with every request until it expires, so a token that passed jsonwebtoken's
 * full check once is remembered (its exact text, with its claims): the next requests with it check only its expiry,
 * as jsonwebtoken would, and then its login, as every request does. The signature of a text cannot stop being
 * valid; a token that differs by one character is a different text and gets the full check.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(RequestStrategy, JWT_STRATEGY) {
  private readonly verified = new Map<string, VerifiedClaims>();

  constructor(
    private readonly secrets: AppSecrets,
    private readonly sessionState: SessionStateService,
  ) {
    super();
  }

  /** The caller, or false (a 401 unless another strategy takes the request); throws when the login cannot be checked. */
  async validate(request: FastifyRequest): Promise<AuthUser | false> {
    const token = tokenFromRequest(request);
    const claims = token === null ? undefined : this.verifiedClaims(token);
    if (!claims) return false;
    const id = Number(claims.sub);
    const wellFormed =
      Number.isSafeInteger(id) &&
      typeof claims.sid === 'string' &&
      typeof claims.email === 'string' &&
      typeof claims.name === 'string' &&
      ROLES.includes(claims.role as AuthUser['role']);
    if (!wellFormed || !(await this.sessionState.isActive(claims.sid!, id))) return false;
    this.remember(token!, claims);
    const context = RequestContextStore.current();
    if (context) {
      context.userId = id;
      context.userEmail = claims.email;
    }
    return { id, email: claims.email!, name: claims.name!, role: claims.role!, sessionId: claims.sid! };
  }

  /** The claims of a token whose signature and expiry hold, as remembered or from jsonwebtoken's full check. */
  private verifiedClaims(token: string): VerifiedClaims | undefined {
    const remembered = this.verified.get(token);
    // jsonwebtoken's own test, without its clock tolerance (none is set): expired from the second `exp` names.
    if (remembered && Math.floor(Date.now() / 1000) < remembered.exp!) return remembered;
    if (remembered) this.verified.delete(token);
    try {
      const claims = verify(token, this.secrets.jwtKey, { algorithms: [JWT_ALGORITHM] });
      return typeof claims === 'object' ? claims : undefined;
    } catch {
      return undefined;
    }
  }

  /** Reached only with claims that jsonwebtoken verified (or that were remembered so), of a live login. */
  private remember(token: string, claims: VerifiedClaims): void {
    if (typeof claims.exp !== 'number' || this.verified.has(token)) return;
    if (this.verified.size >= VERIFIED_TOKENS_MAX) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, claims);
  }
}
