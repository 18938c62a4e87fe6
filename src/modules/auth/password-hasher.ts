import { Injectable, OnModuleInit } from '@nestjs/common';
import * as argon2 from 'argon2';

/** OWASP's argon2id parameters: 19 MiB, 2 passes, 1 lane. */
const OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** The password hash of an account that has no password (made for an identity provider's user): nothing matches it. */
export const NO_PASSWORD = '!';

@Injectable()
export class PasswordHasher implements OnModuleInit {
  /** Verified against when the email is unknown, so that case takes as long as a wrong password. */
  private dummyHash = '';

  async onModuleInit(): Promise<void> {
    this.dummyHash = await argon2.hash('logbook-timing-equaliser', OPTIONS);
  }

  hash(password: string): Promise<string> {
    return argon2.hash(password, OPTIONS);
  }

  async verify(hash: string | undefined, password: string): Promise<boolean> {
    const usable = hash !== undefined && hash !== NO_PASSWORD;
    try {
      const matches = await argon2.verify(usable ? hash : this.dummyHash, password);
      return usable && matches;
    } catch {
      return false;
    }
  }
}
