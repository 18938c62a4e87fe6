import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { Role } from '../../common/auth/auth-user';
import { Paging } from '../../common/pagination/paging';
import type { ReadDb } from '../../database/read-replicas';
import { likePattern } from '../../database/sql';
import { Tx } from '../../database/transactions';
import { User } from './user.entity';

export interface UserFilters {
  role?: Role;
  q?: string;
  includeDeleted?: boolean;
}

/** The only code that reads or writes users. */
@Injectable()
export class UsersRepository {
  constructor(@InjectRepository(User) private readonly repository: Repository<User>) {}

  /**
   * Inside a transaction, pass it: a second connection taken while one is held can starve the pool. `db`: where a
   * read that may use a replica runs.
   */
  findById(id: number, options: { withDeleted?: boolean; tx?: Tx; db?: ReadDb } = {}): Promise<User | null> {
    return this.on(options.tx ?? options.db).findOne({ where: { id }, withDeleted: options.withDeleted ?? false });
  }

  /** By lower-cased email, deleted users included (their email stays taken). */
  findByEmail(email: string, tx?: Tx): Promise<User | null> {
    return this.on(tx).findOne({ where: { email }, withDeleted: true });
  }

  private on(manager?: EntityManager): Repository<User> {
    return manager ? manager.getRepository(User) : this.repository;
  }

  async insert(tx: Tx, user: Pick<User, 'email' | 'name' | 'role' | 'passwordHash'>): Promise<User> {
    const repository = tx.getRepository(User);
    const { identifiers } = await repository.insert(user);
    return repository.findOneByOrFail({ id: Number(identifiers[0].id) });
  }

  /** Applies the changes and returns the user as stored, or null when no such live user exists. */
  async update(
    tx: Tx,
    id: number,
    changes: Partial<Pick<User, 'name' | 'role' | 'passwordHash'>>,
  ): Promise<User | null> {
    await tx.getRepository(User).update({ id }, changes);
    return tx.getRepository(User).findOne({ where: { id } });
  }

  /** Locks the user's row for the rest of the transaction. */
  lockById(tx: Tx, id: number, options: { withDeleted?: boolean } = {}): Promise<User | null> {
    return tx
      .getRepository(User)
      .findOne({ where: { id }, withDeleted: options.withDeleted ?? false, lock: { mode: 'pessimistic_write' } });
  }

  async setDeleted(tx: Tx, id: number, deleted: boolean): Promise<User | null> {
    const repository = tx.getRepository(User);
    await (deleted ? repository.softDelete({ id }) : repository.restore({ id }));
    return repository.findOne({ where: { id }, withDeleted: true });
  }

  /** A page of users by id; one row more than `paging.limit` when more follow. Total only in offset mode. */
  async list(
    filters: UserFilters,
    paging: Paging,
    db: ReadDb = this.repository.manager,
  ): Promise<{ rows: User[]; total: number | null }> {
    const query = db.getRepository(User).createQueryBuilder('u');
    if (filters.includeDeleted) query.withDeleted();
    if (filters.role) query.andWhere('u.role = :role', { role: filters.role });
    if (filters.q) query.andWhere('(u.email ILIKE :q OR u.name ILIKE :q)', { q: likePattern(filters.q) });
    const total = paging.after ? null : await query.clone().getCount();
    if (paging.after) query.andWhere('u.id > :afterId', { afterId: paging.after.id });
    query.orderBy('u.id', 'ASC').limit(paging.limit + 1);
    if (!paging.after) query.offset(((paging.page ?? 1) - 1) * paging.limit);
    return { rows: await query.getMany(), total };
  }
}
