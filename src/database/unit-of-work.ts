import type { EntityManager } from 'typeorm';
import { childManager } from './pg-access';

/**
 * What a commit can make stale or set in motion, by topic, with the type of the subject a transaction names.
 * A service states what changed (`tx.touch`); the hooks registered for the topic (Transactions.onCommit) do the rest,
 * so no caller can forget one of them. A feature that must act after commits adds its topic here.
 */
export interface CommitTopics {
  /** Activities of this owner (a user id) were created, changed or removed. */
  activitiesChanged: number;
  /** An activity was stored (its id). */
  activityCreated: number;
  /** An entry was appended to the audit trail (its id). */
  auditEntryAdded: number;
  /** A webhook event was written to the outbox (its type). */
  webhookEventAdded: string;
}

export type CommitTopic = keyof CommitTopics;

/** Runs after the commit only, never after a rollback; it cannot undo the write, so it should not throw. */
export type AfterCommit = () => Promise<void> | void;

/** A hook of a topic: every distinct subject the transaction touched, in the order first touched. */
export type CommitHook<K extends CommitTopic> = (subjects: CommitTopics[K][]) => Promise<void> | void;

/**
 * The transaction handle services pass to repositories, so a change and its audit entry commit together; it also
 * collects what must happen once they have.
 */
export interface Tx extends EntityManager {
  /** Declares that `subject` of `topic` changed: the topic's hooks run once after the commit. */
  touch<K extends CommitTopic>(topic: K, subject: CommitTopics[K]): void;
  /** An effect of this transaction alone, after its commit. */
  afterCommit(effect: AfterCommit): void;
}

/** What one transaction touched and asked for, collected while it runs. */
export class UnitOfWork {
  readonly touched = new Map<CommitTopic, Set<unknown>>();
  readonly effects: AfterCommit[] = [];

  /**
   * `manager` as a Tx of this unit. A child object rather than the manager itself: the pool's shared manager serves
   * single statements, and must not carry one request's unit.
   */
  bind(manager: EntityManager): Tx {
    const tx = childManager<Tx>(manager);
    tx.touch = (topic, subject) => {
      let subjects = this.touched.get(topic);
      if (!subjects) this.touched.set(topic, (subjects = new Set()));
      subjects.add(subject);
    };
    tx.afterCommit = (effect) => void this.effects.push(effect);
    return tx;
  }
}
