import type { Pool, PoolClient } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';

/*
 * The only place that reaches into TypeORM's internals, for what its public API does not give: the pg connection
 * behind a manager (named prepared statements, which TypeORM cannot send, must run on the transaction's own
 * connection), the pg pools of its postgres driver (streamed reads and replica polls take a connection of their own),
 * and a manager bound to a connection taken from a replica's pool. Written against TypeORM 1.x's postgres driver;
 * a TypeORM upgrade is checked here.
 */

/** TypeORM's postgres driver in replication mode: a pg Pool for the primary and one per replica it opened. */
export interface ReplicatedDriver {
  master: Pool;
  slaves: Pool[];
  options: { replication?: { slaves: { url?: string }[] } };
  /** TypeORM's own pool factory (protected in its typings): the same pool options and error handler as the others. */
  createPool(options: unknown, credentials: { url: string }): Promise<Pool>;
}

/** The driver with its pools. */
export function replicatedDriver(dataSource: DataSource): ReplicatedDriver {
  return dataSource.driver as unknown as ReplicatedDriver;
}

/** The primary's pg pool (TypeORM's `master`, which exists with or without replication). */
export function primaryPool(dataSource: DataSource): Pool {
  return replicatedDriver(dataSource).master;
}

/**
 * Where a statement sent with pg directly runs for `manager`: its transaction's (or bound) connection when it has
 * one, the primary's pool otherwise.
 */
export function pgTarget(manager: EntityManager): Pool | PoolClient {
  const connection = (manager.queryRunner as { databaseConnection?: PoolClient } | undefined)?.databaseConnection;
  return connection ?? primaryPool(manager.connection);
}

/** An EntityManager whose queries, builders and transactions all run on `client`, which its caller releases. */
export function managerOn(dataSource: DataSource, client: PoolClient): EntityManager {
  const runner = dataSource.createQueryRunner('slave');
  // A PostgresQueryRunner that has its connection uses it and never takes one from a pool.
  (runner as unknown as { databaseConnection: PoolClient }).databaseConnection = client;
  return runner.manager;
}

/**
 * A manager that runs on `manager`'s connection but is an object of its own, so a caller can add members to it
 * without touching the shared one. TypeORM keeps the repositories a manager made in its own `repositories` map:
 * the child needs a map of its own, or its repositories would be the parent's.
 */
export function childManager<T extends EntityManager>(manager: EntityManager): T {
  const child = Object.create(manager) as T & { repositories: Map<unknown, unknown> };
  child.repositories = new Map();
  return child;
}
