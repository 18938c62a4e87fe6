import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createClient, RedisClientType } from '@keyv/redis';
import { Settings } from '../config/settings';

/**
 * The one budget of every Redis command, whatever the feature: past it the request goes on without Redis. A request
 * makes its Redis calls one after another at most a few times, and the first that times out opens the breaker, so
 * no request waits on Redis for much more than this.
 */
export const REDIS_CALL_BUDGET_MS = 250;
/** After a command timed out or failed, every feature leaves Redis alone this long: a hung server costs one wait. */
export const REDIS_PAUSE_AFTER_FAILURE_MS = 1000;
/** What {@link RedisService.run} returns when Redis did not answer: not connected, paused, failed, or too slow. */
export const NO_ANSWER: unique symbol = Symbol('no answer from Redis');
export type NoAnswer = typeof NO_ANSWER;

/**
 * The Redis connections of this instance when REDIS_URL is set: one for commands, one for subscriptions, and the
 * one policy every command goes through ({@link run}): a deadline of {@link REDIS_CALL_BUDGET_MS}, and a breaker
 * shared by all features. Commands fail at once while Redis is unreachable (no offline queue), and both
 * connections reconnect by themselves.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  /** Undefined without REDIS_URL. Features send commands through {@link run}, never on it directly. */
  readonly client?: RedisClientType;
  private subscriberClient?: RedisClientType;
  private lastErrorLog = 0;
  /** Until when commands are not sent (after one timed out or failed); 0: they are. */
  private pausedUntil = 0;

  constructor(@Inject(Settings) private readonly settings: Settings) {
    if (!settings.redisUrl) return;
    this.client = this.connect('commands');
  }

  /**
   * What every Redis key and channel of this deployment starts with: deployments sharing one Redis never see each
   * other's (see migration DeploymentIdentity).
   */
  get namespace(): string {
    const id = this.settings.deploymentId.replace(/-/g, '').slice(0, 16);
    return id ? `logbook:${id}` : 'logbook';
  }

  get enabled(): boolean {
    return this.client !== undefined;
  }

  /** Whether the command connection is up (it may still be paused after a failure). */
  get ready(): boolean {
    return this.client?.isReady ?? false;
  }

  /** Whether {@link run} would send a command now: connected, and not paused after a failure. */
  get available(): boolean {
    return this.ready && Date.now() >= this.pausedUntil;
  }

  /**
   * `command`'s answer, or NO_ANSWER at once while Redis is not available, or after {@link REDIS_CALL_BUDGET_MS}
   * without an answer, or when it failed; the last two pause every feature's commands for
   * {@link REDIS_PAUSE_AFTER_FAILURE_MS}. `label` names the call in the log.
   */
  run<T>(label: string, command: (client: RedisClientType) => Promise<T>): Promise<T | NoAnswer> {
    if (!this.available) return Promise.resolve(NO_ANSWER);
    return this.withinBudget(label, command);
  }

  /** Whether Redis answers a PING within the budget now, even while paused; an answer ends the pause. */
  async ping(): Promise<boolean> {
    if (!this.ready) return false;
    const answer = await this.withinBudget('ping', (client) => client.ping());
    if (answer !== 'PONG') return false;
    this.pausedUntil = 0;
    return true;
  }

  /** A connection for SUBSCRIBE, made on first use. */
  subscriber(): RedisClientType | undefined {
    if (!this.client) return undefined;
    this.subscriberClient ??= this.connect('subscriber');
    return this.subscriberClient;
  }

  /** Logs a Redis problem at most once every 10 seconds, so an outage does not flood the log. */
  warn(message: string, error: Error): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 10_000) return;
    this.lastErrorLog = now;
    this.logger.warn(`${message}: ${error.message}`);
  }

  onApplicationShutdown(): void {
    for (const client of [this.client, this.subscriberClient]) if (client?.isOpen) client.destroy();
  }

  private async withinBudget<T>(
    label: string,
    command: (client: RedisClientType) => Promise<T>,
  ): Promise<T | NoAnswer> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const pending = command(this.client!);
      const deadline = new Promise<NoAnswer>((resolve) => {
        // Decided after the next poll for I/O: when the event loop itself was late, an answer that has arrived
        // meanwhile still wins (timers run before I/O callbacks in a loop's turn).
        timer = setTimeout(() => setImmediate(resolve, NO_ANSWER), REDIS_CALL_BUDGET_MS);
      });
      const outcome = await Promise.race([pending, deadline]);
      if (outcome === NO_ANSWER) {
        // Its answer may still come (a frozen server that thaws): nobody waits for it any more.
        pending.catch(() => undefined);
        this.pause(`Redis ${label} timed out`, new Error(`no answer within ${REDIS_CALL_BUDGET_MS} ms`));
      }
      return outcome;
    } catch (error) {
      this.pause(`Redis ${label} failed`, error as Error);
      return NO_ANSWER;
    } finally {
      clearTimeout(timer);
    }
  }

  private pause(message: string, error: Error): void {
    this.pausedUntil = Date.now() + REDIS_PAUSE_AFTER_FAILURE_MS;
    this.warn(message, error);
  }

  private connect(role: string): RedisClientType {
    const client: RedisClientType = createClient({
      url: this.settings.redisUrl,
      disableOfflineQueue: true,
      socket: { connectTimeout: 1000, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000) },
    });
    client.on('error', (error: Error) => this.warn(`Redis (${role})`, error));
    client.connect().catch((error: Error) => this.warn(`Redis (${role}) connection failed`, error));
    return client;
  }
}
