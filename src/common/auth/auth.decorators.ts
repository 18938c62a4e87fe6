import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuthUser, Role } from './auth-user';

export const IS_PUBLIC = 'logbook:public';
export const REQUIRED_ROLES = 'logbook:roles';

/** No access token needed. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** Only callers with one of these roles (403 for others). */
export const Roles = (...roles: Role[]) => SetMetadata(REQUIRED_ROLES, roles);

/** The signed-in caller. */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthUser =>
    context.switchToHttp().getRequest<FastifyRequest & { user: AuthUser }>().user,
);
