import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { Strategy } from 'passport-jwt';
import { AuthUser, ROLES } from '../../common/auth/auth-user';
import { RequestContextStore } from '../../common/context/request-context';
import { AppSecrets } from '../../config/secrets';
import { SessionStateService } from './session-state.service';
import { AccessTokenClaims, JWT_ALGORITHM } from './token.service';

const AUTHORIZATION = /^(?:Bearer|Token)\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i;

/** `Authorization: Bearer <token>`, or `Token <token>` as older clients send it. */
export function tokenFromRequest(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  return (header && AUTHORIZATION.exec(header.trim())?.[1]) || null;
}

/** The token is well signed but its login has ended, or its claims are not Logbook's: a 401. */
export class RevokedSession extends Error {}

/** How many verified access tokens a process remembers (a few MB at most; the oldest is forgotten first). */
export const VERIFIED_TOKENS_MAX = 10_000;

/** The claims as jsonwebtoken hands them over: Logbook's (not yet checked) and the registered ones it set. */
type VerifiedClaims = Partial<AccessTokenClaims> & { exp?: number };
type PassportRequest = Parameters<Strategy['authenticate']>[0];

/**
 * Checks the access token's signature (HS256 only) and expiry, then that its login is still live.
 *
 * A client sends the same access token with every request until it expires, so a token that passed jsonwebtoken's
 * full check once is remembered (its exact text, with its claims): the next requests with it check only its expiry,
 * as jsonwebtoken would, and then its login, as every request does. The signature of a text cannot stop being
 * valid; a token that differs by one character is a different text and gets the full check. That check cost about
 * a tenth of the CPU of a POST /activities (bench/, `--profile`).
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  private readonly verified = new Map<string, VerifiedClaims>();

  constructor(
    secrets: AppSecrets,
    private readonly sessionState: SessionStateService,
  ) {
    super({
      jwtFromRequest: tokenFromRequest,
      // jsonwebtoken accepts a KeyObject; the types of passport-jwt only name strings and buffers.
      secretOrKey: secrets.jwtKey as unknown as string,
      algorithms: [JWT_ALGORITHM],
      passReqToCallback: true,
    });
  }

  /** Passport's entry point (on a per-request copy of the strategy that has success, fail and error). */
  override authenticate(request: PassportRequest, options?: object): void {
    const token = tokenFromRequest(request as unknown as FastifyRequest);
    const claims = token === null ? undefined : this.verified.get(token);
    // jsonwebtoken's own test, without its clock tolerance (none is set): expired from the second `exp` names.
    if (!claims || Math.floor(Date.now() / 1000) >= claims.exp!) {
      if (claims) this.verified.delete(token!);
      return super.authenticate(request, options);
    }
    this.validate(request as unknown as FastifyRequest, claims).then(
      (user) => this.success(user),
      (error: Error) => this.error(error),
    );
  }

  async validate(request: FastifyRequest, claims: VerifiedClaims): Promise<AuthUser> {
    const id = Number(claims.sub);
    const wellFormed =
      Number.isSafeInteger(id) &&
      typeof claims.sid === 'string' &&
      typeof claims.email === 'string' &&
      typeof claims.name === 'string' &&
      ROLES.includes(claims.role as AuthUser['role']);
    if (!wellFormed || !(await this.sessionState.isActive(claims.sid!, id))) throw new RevokedSession();
    this.remember(tokenFromRequest(request)!, claims);
    const context = RequestContextStore.current();
    if (context) {
      context.userId = id;
      context.userEmail = claims.email;
    }
    return { id, email: claims.email!, name: claims.name!, role: claims.role!, sessionId: claims.sid! };
  }

  /** Reached only with claims that jsonwebtoken verified (or that were remembered so), of a live login. */
  private remember(token: string, claims: VerifiedClaims): void {
    if (typeof claims.exp !== 'number' || this.verified.has(token)) return;
    if (this.verified.size >= VERIFIED_TOKENS_MAX) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, claims);
  }
}
