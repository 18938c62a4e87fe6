import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

/** The transaction handle services pass to repositories, so a change and its audit entry commit together. */
export type Tx = EntityManager;

@Injectable()
export class Transactions {
  constructor(private readonly dataSource: DataSource) {}

  run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /**
   * For work that is one SQL statement, which PostgreSQL makes atomic by itself: no BEGIN and COMMIT round trips.
   */
  single<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return work(this.dataSource.manager);
  }
}
