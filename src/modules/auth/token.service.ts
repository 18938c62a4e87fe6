import { Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import { AuthUser } from '../../common/auth/auth-user';
import { AppSecrets } from '../../config/secrets';
import { Settings } from '../../config/settings';

/** What an access token carries. `sid` names the login, which can be revoked at once. */
export interface AccessTokenClaims {
  sub: string;
  sid: string;
  email: string;
  name: string;
  role: AuthUser['role'];
}

export const JWT_ALGORITHM = 'HS256';

@Injectable()
export class TokenService {
  constructor(
    private readonly secrets: AppSecrets,
    private readonly settings: Settings,
  ) {}

  get accessTtlSeconds(): number {
    return this.settings.jwtAccessTtlSeconds;
  }

  get refreshTtlSeconds(): number {
    return this.settings.jwtRefreshTtlSeconds;
  }

  signAccessToken(user: Omit<AuthUser, 'sessionId'>, sessionId: string): string {
    const claims: AccessTokenClaims = {
      sub: String(user.id),
      sid: sessionId,
      email: user.email,
      name: user.name,
      role: user.role,
    };
    return sign(claims, this.secrets.jwtKey, {
      algorithm: JWT_ALGORITHM,
      expiresIn: this.settings.jwtAccessTtlSeconds,
    });
  }

  /** A new opaque refresh token; only its hash is stored. */
  newRefreshToken(): { token: string; hash: string } {
    const token = randomBytes(32).toString('base64url');
    return { token, hash: hashRefreshToken(token) };
  }
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
