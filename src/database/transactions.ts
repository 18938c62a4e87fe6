import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { ConsistentReads } from './consistent-reads';

/** The transaction handle services pass to repositories, so a change and its audit entry commit together. */
export type Tx = EntityManager;

/** Every write goes through here, so that each commit is noted for read-your-writes (see ConsistentReads). */
@Injectable()
export class Transactions {
  constructor(
    private readonly dataSource: DataSource,
    private readonly reads: ConsistentReads,
  ) {}

  async run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const result = await this.dataSource.transaction(work);
    await this.reads.committed();
    return result;
  }

  /**
   * For work that is one SQL statement, which PostgreSQL makes atomic by itself: no BEGIN and COMMIT round trips.
   */
  async single<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const result = await work(this.dataSource.manager);
    await this.reads.committed();
    return result;
  }
}
