import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Paging } from '../../common/pagination/paging';
import type { ReadDb } from '../../database/read-replicas';
import { Tx } from '../../database/transactions';
import { WebhookEndpoint } from './webhook-endpoint.entity';

export type EndpointChanges = Partial<
  Pick<
    WebhookEndpoint,
    | 'url'
    | 'events'
    | 'description'
    | 'enabled'
    | 'secretSealed'
    | 'previousSecretSealed'
    | 'previousSecretUntil'
    | 'failingSince'
  >
>;

/** The only code that reads or writes webhook_endpoints. */
@Injectable()
export class WebhooksRepository {
  constructor(@InjectRepository(WebhookEndpoint) private readonly repository: Repository<WebhookEndpoint>) {}

  async insert(
    tx: Tx,
    endpoint: Pick<WebhookEndpoint, 'url' | 'events' | 'description' | 'secretSealed'>,
  ): Promise<WebhookEndpoint> {
    const result = await tx.getRepository(WebhookEndpoint).insert(endpoint);
    return tx.getRepository(WebhookEndpoint).findOneByOrFail({ id: Number(result.identifiers[0].id) });
  }

  /** A live endpoint (not deleted), locked for the rest of the transaction. */
  lockById(tx: Tx, id: number): Promise<WebhookEndpoint | null> {
    return tx.getRepository(WebhookEndpoint).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  findById(id: number, db: ReadDb = this.repository.manager): Promise<WebhookEndpoint | null> {
    return db.getRepository(WebhookEndpoint).findOneBy({ id });
  }

  async update(tx: Tx, id: number, changes: EndpointChanges): Promise<WebhookEndpoint> {
    await tx.getRepository(WebhookEndpoint).update({ id }, changes);
    return tx.getRepository(WebhookEndpoint).findOneByOrFail({ id });
  }

  async softDelete(tx: Tx, id: number): Promise<void> {
    await tx.getRepository(WebhookEndpoint).softDelete({ id });
  }

  async list(
    paging: Paging,
    db: ReadDb = this.repository.manager,
  ): Promise<{ rows: WebhookEndpoint[]; total: number | null }> {
    const query = db.getRepository(WebhookEndpoint).createQueryBuilder('w');
    const total = paging.after ? null : await query.clone().getCount();
    if (paging.after) query.andWhere('w.id > :afterId', { afterId: paging.after.id });
    query.orderBy('w.id', 'ASC').limit(paging.limit + 1);
    if (!paging.after) query.offset(((paging.page ?? 1) - 1) * paging.limit);
    return { rows: await query.getMany(), total };
  }
}
