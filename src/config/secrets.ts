import { createHmac, createSecretKey, KeyObject, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Settings } from './settings';

/** Keys derived once at boot. A KeyObject makes jsonwebtoken skip trying the secret as a public key (~0.6 ms a verify). */
export class AppSecrets {
  constructor(
    readonly jwtKey: KeyObject,
    readonly cursorKey: Buffer,
    /** Encrypts webhook endpoints' signing secrets in the database (AES-256-GCM): a copy of the database alone cannot sign. */
    readonly webhookSecretKey: Buffer,
  ) {}

  static from(settings: Settings): AppSecrets {
    const secret = settings.jwtSecret ?? generatedSecret(settings);
    return new AppSecrets(
      createSecretKey(Buffer.from(secret, 'utf8')),
      createHmac('sha256', secret).update('logbook:cursor:v1').digest(),
      createHmac('sha256', secret).update('logbook:webhook-secrets:v1').digest(),
    );
  }
}

/** Outside production without JWT_SECRET: made once and kept beside the embedded data, so tokens survive restarts. */
function generatedSecret(settings: Settings): string {
  const file = join(dirname(settings.embeddedPgDir), 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(48).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
  return secret;
}
