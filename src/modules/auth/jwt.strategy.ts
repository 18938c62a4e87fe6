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

/** Checks the access token's signature (HS256 only) and expiry, then that its login is still live. */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    secrets: AppSecrets,
    private readonly sessionState: SessionStateService,
  ) {
    super({
      jwtFromRequest: tokenFromRequest,
      // jsonwebtoken accepts a KeyObject; the types of passport-jwt only name strings and buffers.
      secretOrKey: secrets.jwtKey as unknown as string,
      algorithms: [JWT_ALGORITHM],
    });
  }

  async validate(claims: Partial<AccessTokenClaims>): Promise<AuthUser> {
    const id = Number(claims.sub);
    const wellFormed =
      Number.isSafeInteger(id) &&
      typeof claims.sid === 'string' &&
      typeof claims.email === 'string' &&
      typeof claims.name === 'string' &&
      ROLES.includes(claims.role as AuthUser['role']);
    if (!wellFormed || !(await this.sessionState.isActive(claims.sid!, id))) throw new RevokedSession();
    const context = RequestContextStore.current();
    if (context) {
      context.userId = id;
      context.userEmail = claims.email;
    }
    return { id, email: claims.email!, name: claims.name!, role: claims.role!, sessionId: claims.sid! };
  }
}
