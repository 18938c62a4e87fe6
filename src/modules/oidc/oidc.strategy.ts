import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import { AuthUser, Role, ROLES } from '../../common/auth/auth-user';
import { RequestStrategy } from '../../common/auth/request-strategy';
import { RequestContextStore } from '../../common/context/request-context';
import { AppException } from '../../common/http/app.exception';
import { OidcSettings, Settings } from '../../config/settings';
import { RevocableCache } from '../auth/revocable-cache';
import { ENTRY_TTL_MS, SessionStateService, type Revocation } from '../auth/session-state.service';
import { tokenFromRequest } from '../auth/jwt.strategy';
import { IdentityUsersService, ProviderIdentity } from './identity-users.service';
import { IdentityProviderUnavailable, ProviderKeys } from './provider-keys';
import type { LinkedUser } from './user-identities.repository';

/** The passport name of access tokens from the team's identity provider. */
export const OIDC_STRATEGY = 'oidc';

/** Asymmetric signatures only: never `none`, never an HMAC (whose secret a public key could be passed off as). */
export const OIDC_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'];
export const CLOCK_SKEW_SECONDS = 30;

/** How many verified tokens, and how many people, a process remembers. */
const MAX_ENTRIES = 10_000;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

/**
 * Access tokens that the identity provider named by OIDC_ISSUER signed (jose checks the signature against the
 * provider's JWKS, and `iss`, `aud`, `exp`, `nbf`), acting as the Logbook user linked to their (`iss`, `sub`). With
 * OIDC_ISSUER unset it declines every request.
 *
 * As for Logbook's own tokens, a token that passed the full check is remembered until it expires, and people are
 * remembered like logins (dropped on every instance when their user is deleted or changed): once the provider's key
 * is known, a request costs no network call and, mostly, no query.
 */
@Injectable()
export class OidcStrategy extends PassportStrategy(RequestStrategy, OIDC_STRATEGY) {
  private readonly logger = new Logger(OidcStrategy.name);
  private readonly config?: OidcSettings;
  private readonly keys?: ProviderKeys;
  /** Verified tokens (their exact text), with their claims and the time until which they hold. */
  private readonly verified = new Map<string, { claims: JWTPayload; until: number }>();
  /** Users by `iss` and `sub`. */
  private readonly people = new RevocableCache<LinkedUser>(MAX_ENTRIES, ENTRY_TTL_MS);

  constructor(
    settings: Settings,
    private readonly identityUsers: IdentityUsersService,
    private readonly sessionState: SessionStateService,
  ) {
    super();
    this.config = settings.oidc;
    if (!this.config) return;
    this.keys = new ProviderKeys({ issuer: this.config.issuer, jwksUrl: this.config.jwksUrl }, (error) =>
      this.logger.warn(`could not fetch the identity provider's keys: ${(error as Error).message}`),
    );
    // A key the provider no longer publishes may have been withdrawn: check every token again.
    this.keys.onChange(() => this.verified.clear());
    sessionState.onRevocation((revocation) => this.forget(revocation));
  }

  async validate(request: FastifyRequest): Promise<AuthUser | false> {
    const token = this.config ? tokenFromRequest(request) : null;
    const claims = token === null ? undefined : await this.verifiedClaims(token);
    const identity = claims && this.identityOf(claims);
    if (!identity) return false;
    let user = await this.people.get(`${identity.issuer}\n${identity.subject}`, this.sessionState.cacheable, () =>
      this.identityUsers.resolve(identity),
    );
    if (user && identity.role && identity.role !== user.role)
      user = await this.identityUsers.followRole(user, identity.role);
    if (!user) return false;
    this.remember(token!, claims);
    const context = RequestContextStore.current();
    if (context) {
      context.userId = user.id;
      context.userEmail = user.email;
    }
    return { id: user.id, email: user.email, name: user.name, role: user.role, sessionId: null };
  }

  /** The claims of a token the provider signed and that holds now, or undefined; 503 when its key cannot be had. */
  private async verifiedClaims(token: string): Promise<JWTPayload | undefined> {
    const remembered = this.verified.get(token);
    if (remembered && Date.now() < remembered.until) return remembered.claims;
    if (remembered) this.verified.delete(token);
    const config = this.config!;
    try {
      // Tokens of other issuers (or none at all) are not worth a key lookup, let alone a fetch.
      if (decodeJwt(token).iss !== config.issuer) return undefined;
      const { payload } = await jwtVerify(token, this.keys!.getKey, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: OIDC_ALGORITHMS,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp', 'sub'],
      });
      return payload;
    } catch (error) {
      if (error instanceof IdentityProviderUnavailable) {
        throw new AppException(HttpStatus.SERVICE_UNAVAILABLE, 'identityProviderUnavailable', {}, null, {
          'Retry-After': String(error.retryAfterSeconds),
        });
      }
      if (error instanceof errors.JOSEError) return undefined;
      throw error;
    }
  }

  /** Who the claims name, or undefined when they lack what Logbook needs (a subject, an email). */
  private identityOf(claims: JWTPayload): ProviderIdentity | undefined {
    const config = this.config!;
    const subject = claims.sub;
    const rawEmail = claims[config.emailClaim];
    if (!subject || subject.length > 255 || typeof rawEmail !== 'string') return undefined;
    const email = rawEmail.trim().toLowerCase();
    if (email.length > 254 || !EMAIL.test(email)) return undefined;
    const rawName = claims[config.nameClaim];
    const name = (typeof rawName === 'string' && rawName.trim()) || email.split('@')[0];
    return {
      issuer: claims.iss!,
      subject,
      email,
      // `email_verified`, or beside a namespaced email claim (Auth0's `https://.../email`) its own `..._verified`.
      emailVerified: (claims[`${config.emailClaim}_verified`] ?? claims.email_verified) === true,
      name: name.slice(0, 100),
      role: config.roleClaim === undefined ? undefined : this.roleOf(claims, config),
    };
  }

  /** The most powerful role any value of the role claim maps to; PARTICIPANT when none does. */
  private roleOf(claims: JWTPayload, config: OidcSettings): Role {
    const raw = claimAt(claims, config.roleClaim!);
    const values = (Array.isArray(raw) ? raw : [raw]).filter((value): value is string => typeof value === 'string');
    const granted = new Set(values.map((value) => config.roleMap[value]));
    return ROLES.find((role) => granted.has(role)) ?? 'PARTICIPANT';
  }

  private remember(token: string, claims: JWTPayload): void {
    if (this.verified.has(token)) return;
    if (this.verified.size >= MAX_ENTRIES) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, { claims, until: (claims.exp! + CLOCK_SKEW_SECONDS) * 1000 });
  }

  private forget(revocation: Revocation): void {
    if (revocation.kind === 'all') this.people.clear();
    else if (revocation.kind === 'user') this.people.deleteWhere((user) => user.id === revocation.value);
  }
}

/** A claim by name; a name with dots that no claim has is a path into nested claims (Keycloak's `realm_access.roles`). */
function claimAt(claims: JWTPayload, name: string): unknown {
  if (name in claims) return claims[name];
  let value: unknown = claims;
  for (const part of name.split('.')) {
    value = value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  }
  return value;
}
