import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** The months made ahead of time, so that an insert always finds its month's partition. */
export const MONTHS_AHEAD = 3;
const DAY_MS = 24 * 3600_000;

/**
 * Keeps the monthly partitions of `activities` and `audit_logs` ahead of time (migration MonthlyPartitions): at
 * start-up and then daily, every instance makes this month's and the next {@link MONTHS_AHEAD} months' partitions
 * where missing (under an advisory lock, so instances take turns), and moves activities dated in months that had
 * no partition out of DEFAULT into partitions of their own. A failure is logged and tried again the next day; until
 * then inserts still land, in DEFAULT at worst.
 */
@Injectable()
export class PartitionMaintenance implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PartitionMaintenance.name);
  private timer?: NodeJS.Timeout;

  constructor(private readonly dataSource: DataSource) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.run();
    this.timer = setInterval(() => void this.run(), DAY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Returns how many activities moved out of DEFAULT; undefined when it failed (and was logged). */
  async run(): Promise<number | undefined> {
    try {
      return await ensurePartitions(this.dataSource);
    } catch (error) {
      this.logger.warn(`partition maintenance failed, tried again in a day: ${(error as Error).message}`);
      return undefined;
    }
  }
}

/** One round of maintenance (also `npm run cli -- partitions`): how many activities moved out of DEFAULT. */
export async function ensurePartitions(dataSource: DataSource): Promise<number> {
  await dataSource.query(
    `SELECT logbook_ensure_partitions('activities', $1), logbook_ensure_partitions('audit_logs', $1)`,
    [MONTHS_AHEAD],
  );
  const [{ moved }] = await dataSource.query<{ moved: string }[]>('SELECT activities_split_default() AS moved');
  return Number(moved);
}
