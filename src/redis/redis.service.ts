import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createClient, RedisClientType } from '@keyv/redis';
import { Settings } from '../config/settings';

/**
 * The Redis connections of this instance when REDIS_URL is set: one for commands, one for subscriptions.
 * They never hold a request up: commands fail at once while Redis is unreachable (no offline queue), and both
 * reconnect by themselves.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  /** Undefined without REDIS_URL. */
  readonly client?: RedisClientType;
  private subscriberClient?: RedisClientType;
  private lastErrorLog = 0;

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

  /** Whether commands can be sent now. */
  get ready(): boolean {
    return this.client?.isReady ?? false;
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
