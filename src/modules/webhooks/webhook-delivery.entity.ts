import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber, TIMESTAMP } from '../../database/column-types';

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** One attempt to deliver one event to one endpoint: the attempt log. */
@Entity('webhook_deliveries')
@Index('uq_webhook_deliveries_attempt', ['endpointId', 'eventId', 'attempt'], { unique: true })
@Index('ix_webhook_deliveries_endpoint', ['endpointId', 'id'])
export class WebhookDelivery {
  @PrimaryColumn({
    type: 'bigint',
    generated: 'identity',
    generatedIdentity: 'BY DEFAULT',
    transformer: bigintToNumber,
    primaryKeyConstraintName: 'pk_webhook_deliveries',
  })
  id: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  endpointId: number;

  /** The event's row (webhook_events.id). */
  @Column({ type: 'bigint', transformer: bigintToNumber })
  eventId: number;

  @Column({ type: 'integer' })
  attempt: number;

  @Column({ type: 'varchar', length: 10 })
  status: DeliveryStatus;

  @Column({ type: 'integer', nullable: true })
  responseStatus: number | null;

  @Column({ type: 'integer', nullable: true })
  durationMs: number | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  error: string | null;

  @Column({ ...TIMESTAMP, default: () => 'now()' })
  createdAt: Date;

  @Column({ ...TIMESTAMP, nullable: true })
  nextAttemptAt: Date | null;
}
