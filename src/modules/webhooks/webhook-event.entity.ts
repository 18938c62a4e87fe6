import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber, TIMESTAMP } from '../../database/column-types';
import type { WebhookEventType } from './webhook-events';

/**
 * The SQL expression of a new event's id, which every statement that writes an event uses: `evt_`, the time in
 * milliseconds (12 hex digits) and 20 random hex digits, laid out as a UUIDv7 is. Ids in time order land at one end
 * of the unique index, where a random one would touch a page anywhere in it for every write.
 */
export const NEW_EVENT_ID =
  "'evt_' || lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')" +
  " || right(replace(gen_random_uuid()::text, '-', ''), 20)";

/**
 * The outbox: an event, written in the transaction of the change it tells of, while some enabled endpoint asks for
 * its type. Records that never change afterwards (audit entries, checkpoints) and activities as created are named by
 * `recordId` (with the status an activity was created with); other events carry their `data`.
 */
@Entity('webhook_events')
@Index('ix_webhook_events_undispatched', ['id'], { where: 'dispatched_at IS NULL' })
@Index('ix_webhook_events_created', ['createdAt'])
export class WebhookEvent {
  @PrimaryColumn({
    type: 'bigint',
    generated: 'identity',
    generatedIdentity: 'BY DEFAULT',
    transformer: bigintToNumber,
    primaryKeyConstraintName: 'pk_webhook_events',
  })
  id: number;

  /** `evt_` and 32 hex digits (see {@link NEW_EVENT_ID}): the `webhook-id` of every delivery of this event. */
  @Index('uq_webhook_events_event_id', { unique: true })
  @Column({ type: 'varchar', length: 40 })
  eventId: string;

  @Column({ type: 'varchar', length: 40 })
  type: WebhookEventType;

  @Column({ type: 'bigint', nullable: true, transformer: bigintToNumber })
  recordId: number | null;

  /** An activity's status when it was created (`activity.created`). */
  @Column({ type: 'varchar', length: 20, nullable: true })
  status: string | null;

  @Column({ type: 'jsonb', nullable: true })
  data: Record<string, unknown> | null;

  /** Set for an event meant for one endpoint only (`webhook.test`). */
  @Column({ type: 'bigint', nullable: true, transformer: bigintToNumber })
  endpointId: number | null;

  @Column({ ...TIMESTAMP, default: () => 'now()' })
  createdAt: Date;

  /** When its deliveries were queued; null until then. */
  @Column({ ...TIMESTAMP, nullable: true })
  dispatchedAt: Date | null;
}
