import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { NO_ANSWER, RedisService } from '../../redis/redis.service';
import { RevocableCache } from './revocable-cache';
import { SessionsRepository } from './sessions.repository';

const MAX_ENTRIES = 100_000;
/** A bound on how long a cached "live" answer is trusted, should a revocation message ever be missed. */
export const ENTRY_TTL_MS = 5 * 60_000;

/** A revocation as every instance hears it: logins, every credential of a user, an API key, or everything. */
export type Revocation =
  { kind: 'sid'; value: string } | { kind: 'user'; value: number } | { kind: 'key'; value: number } | { kind: 'all' };

/**
 * Whether an access token's login is still live, answered from memory on the hot path. Revocations are written
 * to the database first; then every instance drops its cached answer: this one directly, the others through a
 * Redis channel. Without a working subscription to that channel (Redis down), every check asks the database.
 */
@Injectable()
export class SessionStateService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(SessionStateService.name);
  /** Live logins by session id, with the user each belongs to. */
  private readonly live = new RevocableCache<{ userId: number }>(MAX_ENTRIES, ENTRY_TTL_MS);
  private subscribed = false;
  private readonly listeners: ((revocation: Revocation) => void)[] = [];

  constructor(
    private readonly sessions: SessionsRepository,
    private readonly redis: RedisService,
  ) {}

  /** Where revocations are announced to the other instances of this deployment. */
  private get channel(): string {
    return `${this.redis.namespace}:sessions:revoked`;
  }

  onModuleInit(): void {
    const subscriber = this.redis.subscriber();
    if (!subscriber) return;
    subscriber.on('ready', () => {
      // Messages may have been missed while disconnected: forget everything learnt before.
      this.clear();
      subscriber
        .subscribe(this.channel, (message: string) => this.apply(message))
        .then(() => (this.subscribed = true))
        .catch((error: Error) => this.redis.warn('session channel subscription failed', error));
    });
    subscriber.on('end', () => (this.subscribed = false));
    subscriber.on('error', () => (this.subscribed = false));
  }

  onApplicationShutdown(): void {
    this.subscribed = false;
  }

  /** Whether a credential's live state may be kept in memory: without Redis, or with its revocations subscribed. */
  get cacheable(): boolean {
    return !this.redis.enabled || this.subscribed;
  }

  /** Other credentials kept in memory (API keys) hear every revocation, from this instance and the others. */
  onRevocation(listener: (revocation: Revocation) => void): void {
    this.listeners.push(listener);
  }

  async isActive(sessionId: string, userId: number): Promise<boolean> {
    const live = await this.live.get(
      sessionId,
      this.cacheable,
      async () => ((await this.sessions.isActive(sessionId)) ? { userId } : null),
      (entry) => entry.userId === userId,
    );
    return live !== null;
  }

  /** After the revocation committed: these logins, or every login of a user, stop working everywhere. */
  async revoked(target: { sessionIds?: string[]; userId?: number; apiKeyIds?: number[] }): Promise<void> {
    const messages = [
      ...(target.sessionIds ?? []).map((id) => `sid:${id}`),
      ...(target.userId !== undefined ? [`user:${target.userId}`] : []),
      ...(target.apiKeyIds ?? []).map((id) => `key:${id}`),
    ];
    for (const message of messages) this.apply(message);
    if (!this.redis.enabled || !messages.length) return;
    // Through the Redis policy: a hung Redis must not hold the request (a logout, say) up, and the revocation is in
    // the database already.
    const published = await this.redis.run('revocation publish', (client) =>
      Promise.all(messages.map((message) => client.publish(this.channel, message))),
    );
    if (published === NO_ANSWER) this.logger.warn('could not announce a revocation: no answer from Redis');
  }

  private apply(message: string): void {
    const [kind, value] = message.split(':');
    if (kind === 'sid') {
      this.live.delete(value);
      this.tell({ kind, value });
    } else if (kind === 'user') {
      const userId = Number(value);
      this.live.deleteWhere((entry) => entry.userId === userId);
      this.tell({ kind, value: userId });
    } else if (kind === 'key') {
      this.tell({ kind, value: Number(value) });
    }
  }

  private clear(): void {
    this.live.clear();
    this.tell({ kind: 'all' });
  }

  private tell(revocation: Revocation): void {
    for (const listener of this.listeners) listener(revocation);
  }
}
