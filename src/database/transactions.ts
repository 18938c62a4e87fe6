import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConsistentReads } from './consistent-reads';
import { CommitHook, CommitTopic, Tx, UnitOfWork } from './unit-of-work';

export type { AfterCommit, CommitTopics, Tx } from './unit-of-work';

/**
 * Every write goes through here, and so does every effect of a commit: first the commit is noted for
 * read-your-writes (see ConsistentReads), then the hooks of each topic the work touched run (in the order they were
 * registered), then the work's own `afterCommit` effects. None of them runs when the work fails or rolls back.
 */
@Injectable()
export class Transactions {
  private readonly hooks = new Map<CommitTopic, CommitHook<CommitTopic>[]>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly reads: ConsistentReads,
  ) {}

  /** Registers what must happen after every commit that touched `topic` (providers call it as they are built). */
  onCommit<K extends CommitTopic>(topic: K, hook: CommitHook<K>): void {
    const hooks = this.hooks.get(topic) ?? [];
    hooks.push(hook as CommitHook<CommitTopic>);
    this.hooks.set(topic, hooks);
  }

  async run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const unit = new UnitOfWork();
    const result = await this.dataSource.transaction((manager) => work(unit.bind(manager)));
    await this.committed(unit);
    return result;
  }

  /**
   * For work that is one SQL statement, which PostgreSQL makes atomic by itself: no BEGIN and COMMIT round trips.
   */
  async single<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const unit = new UnitOfWork();
    const result = await work(unit.bind(this.dataSource.manager));
    await this.committed(unit);
    return result;
  }

  /** Runs every effect, one after the other, even when one fails; then fails with the first failure, if any. */
  private async committed(unit: UnitOfWork): Promise<void> {
    await this.reads.committed();
    if (unit.touched.size === 0 && unit.effects.length === 0) return;
    let failure: { error: unknown } | undefined;
    const attempt = async (effect: () => Promise<void> | void) => {
      try {
        await effect();
      } catch (error) {
        failure ??= { error };
      }
    };
    for (const [topic, subjects] of unit.touched) {
      for (const hook of this.hooks.get(topic) ?? []) await attempt(() => hook([...subjects] as never[]));
    }
    for (const effect of unit.effects) await attempt(effect);
    if (failure) throw failure.error;
  }
}
