import { Injectable } from '@nestjs/common';
import { Settings } from '../../config/settings';
import { FixedWindowCounter, WindowCount } from '../../redis/fixed-window-counter';
import { RedisService } from '../../redis/redis.service';

/**
 * Failed sign-ins counted per email and per client address, in Redis (shared) or memory (see FixedWindowCounter).
 * A window opens at the first failure rather than on the clock: a lock lasts until that window ends.
 */
@Injectable()
export class LoginThrottleService {
  private readonly byEmail: FixedWindowCounter;
  private readonly byAddress: FixedWindowCounter;

  constructor(
    private readonly settings: Settings,
    redis: RedisService,
  ) {
    const windowMs = settings.loginThrottleWindowSeconds * 1000;
    this.byEmail = new FixedWindowCounter(redis, { name: 'login-failures:email', windowMs, anchor: 'first-hit' });
    this.byAddress = new FixedWindowCounter(redis, { name: 'login-failures:address', windowMs, anchor: 'first-hit' });
  }

  /** Seconds until sign-in is possible again for this email or address; 0 when it is not locked. */
  async lockedFor(email: string, address: string): Promise<number> {
    const [byEmail, byAddress] = await Promise.all([
      this.byEmail.peek(email.toLowerCase()),
      this.byAddress.peek(address),
    ]);
    return Math.max(
      lockSeconds(byEmail, this.settings.loginMaxFailuresPerEmail),
      lockSeconds(byAddress, this.settings.loginMaxFailuresPerAddress),
    );
  }

  async recordFailure(email: string, address: string): Promise<void> {
    await Promise.all([this.byEmail.hit(email.toLowerCase()), this.byAddress.hit(address)]);
  }

  /** A successful sign-in clears the email's count (not the address's). */
  async reset(email: string): Promise<void> {
    await this.byEmail.reset(email.toLowerCase());
  }
}

function lockSeconds({ count, resetMs }: WindowCount, max: number): number {
  return count >= max ? Math.max(1, Math.ceil(resetMs / 1000)) : 0;
}
