import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { Settings } from '../../config/settings';
import { RedisService } from '../../redis/redis.service';

/** Failed sign-ins counted per email and per client address in a fixed window, in Redis (shared) or memory. */
@Injectable()
export class LoginThrottleService {
  private readonly memory = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly settings: Settings,
    private readonly redis: RedisService,
  ) {}

  /** Seconds until sign-in is possible again for this email or address; 0 when it is not locked. */
  async lockedFor(email: string, address: string): Promise<number> {
    const [byEmail, byAddress] = await Promise.all([
      this.read(this.emailKey(email)),
      this.read(this.addressKey(address)),
    ]);
    const locks = [
      byEmail.count >= this.settings.loginMaxFailuresPerEmail ? byEmail.retryAfter : 0,
      byAddress.count >= this.settings.loginMaxFailuresPerAddress ? byAddress.retryAfter : 0,
    ];
    return Math.max(...locks);
  }

  async recordFailure(email: string, address: string): Promise<void> {
    await Promise.all([this.increment(this.emailKey(email)), this.increment(this.addressKey(address))]);
  }

  /** A successful sign-in clears the email's count (not the address's). */
  async reset(email: string): Promise<void> {
    const key = this.emailKey(email);
    this.memory.delete(key);
    if (this.redis.ready) await this.redis.client!.del(key).catch(() => undefined);
  }

  private emailKey(email: string): string {
    return `${this.redis.namespace}:login-failures:email:${digest(email.toLowerCase())}`;
  }

  private addressKey(address: string): string {
    return `${this.redis.namespace}:login-failures:address:${digest(address)}`;
  }

  private async read(key: string): Promise<{ count: number; retryAfter: number }> {
    if (this.redis.ready) {
      try {
        const [count, ttl] = await Promise.all([this.redis.client!.get(key), this.redis.client!.pTTL(key)]);
        return { count: Number(count ?? 0), retryAfter: Math.max(1, Math.ceil(ttl / 1000)) };
      } catch {
        // Redis failed mid-way: fall back to this instance's own counts.
      }
    }
    const entry = this.memory.get(key);
    if (!entry || entry.resetAt <= Date.now()) return { count: 0, retryAfter: 0 };
    return { count: entry.count, retryAfter: Math.max(1, Math.ceil((entry.resetAt - Date.now()) / 1000)) };
  }

  private async increment(key: string): Promise<void> {
    const windowMs = this.settings.loginThrottleWindowSeconds * 1000;
    if (this.redis.ready) {
      try {
        await this.redis.client!.multi().incr(key).pExpire(key, windowMs, 'NX').exec();
        return;
      } catch {
        // as in read()
      }
    }
    const now = Date.now();
    const entry = this.memory.get(key);
    if (!entry || entry.resetAt <= now) this.memory.set(key, { count: 1, resetAt: now + windowMs });
    else entry.count += 1;
  }
}

const digest = (text: string) => createHash('sha256').update(text).digest('base64url').slice(0, 22);
