import { Injectable, Logger } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AuthUser } from '../../common/auth/auth-user';
import { RequestStrategy } from '../../common/auth/request-strategy';
import { RequestContextStore } from '../../common/context/request-context';
import { RevocableCache } from '../auth/revocable-cache';
import { ENTRY_TTL_MS, SessionStateService, type Revocation } from '../auth/session-state.service';
import { ApiKeysRepository, LiveKey } from './api-keys.repository';

/** The passport name of API keys. */
export const API_KEY_STRATEGY = 'api-key';

/** `lbk_` and 32 random bytes in base64url. */
export const API_KEY_PATTERN = /^lbk_[A-Za-z0-9_-]{43}$/;
const BEARER_KEY = /^Bearer\s+(lbk_\S+)$/i;

/** How many keys a process remembers. */
const MAX_KEYS = 10_000;
/** A key's use is written at most this often (per key, across instances). */
export const LAST_USED_EVERY_MS = 60_000;

/** `X-API-Key: <key>`, or `Authorization: Bearer <key>` for a key (a JWT there is the JWT strategy's). */
export function apiKeyFromRequest(request: FastifyRequest): string | null {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string') return header.trim();
  const authorization = request.headers.authorization;
  return (authorization && BEARER_KEY.exec(authorization.trim())?.[1]) || null;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * Signs a request in with an API key, as the key's user with the key's scopes. Keys are looked up by the SHA-256 of
 * their text and remembered, like logins (see SessionStateService): a revocation, a role change or a deletion of
 * the user drops them on every instance through the same channel, and without a working subscription every request
 * asks the database. Expiry is checked on every request.
 */
@Injectable()
export class ApiKeyStrategy extends PassportStrategy(RequestStrategy, API_KEY_STRATEGY) {
  private readonly logger = new Logger(ApiKeyStrategy.name);
  /** Live keys by the hash of their text. */
  private readonly known = new RevocableCache<LiveKey>(MAX_KEYS, ENTRY_TTL_MS);
  private readonly lastNoted = new Map<number, number>();

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly sessionState: SessionStateService,
  ) {
    super();
    sessionState.onRevocation((revocation) => this.forget(revocation));
  }

  async validate(request: FastifyRequest): Promise<AuthUser | false> {
    const text = apiKeyFromRequest(request);
    if (text === null || !API_KEY_PATTERN.test(text)) return false;
    const hash = hashApiKey(text);
    const key = await this.known.get(hash, this.sessionState.cacheable, () => this.keys.findByHash(hash));
    if (!key || (key.expiresAt && key.expiresAt.getTime() <= Date.now())) return false;
    this.noteUse(key.id);
    const context = RequestContextStore.current();
    if (context) {
      context.userId = key.userId;
      context.userEmail = key.email;
      context.apiKeyId = key.id;
    }
    return {
      id: key.userId,
      email: key.email,
      name: key.name,
      role: key.role,
      sessionId: null,
      apiKey: { id: key.id, scopes: key.scopes },
    };
  }

  /** Off the request's path: a failure to note a use is logged, never the request's. */
  private noteUse(id: number): void {
    const now = Date.now();
    if (now - (this.lastNoted.get(id) ?? 0) < LAST_USED_EVERY_MS) return;
    if (this.lastNoted.size >= MAX_KEYS) this.lastNoted.delete(this.lastNoted.keys().next().value as number);
    this.lastNoted.set(id, now);
    this.keys.noteUse(id).catch((error: Error) => this.logger.warn(`could not note a key's use: ${error.message}`));
  }

  private forget(revocation: Revocation): void {
    if (revocation.kind === 'all') this.known.clear();
    else if (revocation.kind === 'key') this.known.deleteWhere((key) => key.id === revocation.value);
    else if (revocation.kind === 'user') this.known.deleteWhere((key) => key.userId === revocation.value);
  }
}
