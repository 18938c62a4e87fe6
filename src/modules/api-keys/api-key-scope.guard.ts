import { CanActivate, ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import type { AuthUser } from '../../common/auth/auth-user';
import { AppException } from '../../common/http/app.exception';
import { type ApiKeyScope, KEY_SCOPE } from './api-key-scopes';

/**
 * A caller signed in with an API key reaches only the routes marked `@KeyScope` with a scope the key holds; every
 * other route answers it 403. Callers signed in otherwise are not this guard's concern.
 */
@Injectable()
export class ApiKeyScopeGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const user = context.switchToHttp().getRequest<FastifyRequest & { user?: AuthUser }>().user;
    if (!user?.apiKey) return true;
    const scope = this.reflector.getAllAndOverride<ApiKeyScope | undefined>(KEY_SCOPE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (scope && user.apiKey.scopes.includes(scope)) return true;
    throw new AppException(HttpStatus.FORBIDDEN, 'apiKeyScope', { scope: scope ?? 'no key may' });
  }
}
