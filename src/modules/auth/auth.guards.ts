import { ExecutionContext, HttpStatus, Injectable, CanActivate } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { AuthUser, Role } from '../../common/auth/auth-user';
import { IS_PUBLIC, REQUIRED_ROLES } from '../../common/auth/auth.decorators';
import { AppException } from '../../common/http/app.exception';
import { API_KEY_STRATEGY } from '../api-keys/api-key.strategy';
import { OIDC_STRATEGY } from '../oidc/oidc.strategy';
import { JWT_STRATEGY } from './jwt.strategy';

/**
 * The passport strategies that can sign a caller in, tried in this order: each takes only its own kind of
 * credential and declines the rest, so a new credential is one more strategy here.
 */
export const CREDENTIAL_STRATEGIES = [JWT_STRATEGY, API_KEY_STRATEGY, OIDC_STRATEGY];

/** Every route needs a caller signed in by one of the strategies unless marked `@Public()`. */
@Injectable()
export class AuthenticationGuard extends AuthGuard(CREDENTIAL_STRATEGIES) {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
    return isPublic ? true : super.canActivate(context);
  }

  override handleRequest<T = AuthUser>(error: Error | null, user: T | false): T {
    // Checking the credential failed (the database is down, say): it may be fine, so that is no 401.
    if (error) throw error;
    if (!user)
      throw new AppException(HttpStatus.UNAUTHORIZED, 'unauthorized', {}, null, { 'WWW-Authenticate': 'Bearer' });
    return user;
  }
}

/** `@Roles(...)`: other callers get 403. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!roles?.length) return true;
    const user = context.switchToHttp().getRequest<FastifyRequest & { user?: AuthUser }>().user;
    if (user && roles.includes(user.role)) return true;
    throw new AppException(HttpStatus.FORBIDDEN, 'forbidden');
  }
}
