import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Settings } from '../../config/settings';
import { noteKeyId, rawPublicKey, signNote, verifierKey } from './signed-note';

/** The key that signs checkpoints, and the name (origin) it signs them under. Never kept in the database. */
export class LedgerKey {
  readonly publicKey: Buffer;
  readonly keyId: Buffer;
  readonly verifierKey: string;

  constructor(
    readonly origin: string,
    private readonly privateKey: KeyObject,
  ) {
    this.publicKey = rawPublicKey(createPublicKey(privateKey));
    this.keyId = noteKeyId(origin, this.publicKey);
    this.verifierKey = verifierKey(origin, this.publicKey);
  }

  static from(settings: Settings): LedgerKey {
    const pem = settings.ledgerSigningKey ?? generatedKey(settings);
    const origin = settings.ledgerOrigin ?? `logbook/${settings.deploymentId.replace(/-/g, '').slice(0, 16)}`;
    return new LedgerKey(origin, createPrivateKey({ key: pem, format: 'pem' }));
  }

  sign(text: string): string {
    return signNote(text, this.origin, this.privateKey, this.publicKey);
  }
}

/** Outside production without LEDGER_SIGNING_KEY: made once and kept beside the embedded data, as the JWT secret is. */
function generatedKey(settings: Settings): string {
  const file = join(dirname(settings.embeddedPgDir), 'ledger-signing-key.pem');
  if (existsSync(file)) return readFileSync(file, 'utf8');
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  mkdirSync(dirname(file), { recursive: true });
  try {
    writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another instance on this machine made it first: use theirs.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return readFileSync(file, 'utf8');
  }
  return pem;
}
