import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';

/** What a key may do; each route that a key may call names the one scope it needs. */
export const API_KEY_SCOPES = ['activities:read', 'activities:write', 'audit:read'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** Scopes that only an ADMIN's key may hold. */
export const ADMIN_ONLY_SCOPES: readonly ApiKeyScope[] = ['audit:read'];

export const KEY_SCOPE = 'logbook:key-scope';

/** The OpenAPI extension that names the scope a key needs for an operation (absent: keys are refused). */
export const KEY_SCOPE_EXTENSION = 'x-api-key-scope';

/**
 * `@KeyScope(scope)`: a caller signed in with an API key may call the route when the key holds `scope`. A route
 * without it refuses every key (403): keys never manage users, keys or webhooks, nor sign in, out or change a
 * password.
 */
export const KeyScope = (scope: ApiKeyScope) =>
  applyDecorators(SetMetadata(KEY_SCOPE, scope), ApiExtension(KEY_SCOPE_EXTENSION, scope));
