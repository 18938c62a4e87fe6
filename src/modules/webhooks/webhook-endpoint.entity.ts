import { Column, CreateDateColumn, DeleteDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { bigintToNumber, TIMESTAMP } from '../../database/column-types';
import type { WebhookEventChoice } from './webhook-events';

/** Where Logbook sends the events an ADMIN asked for, signed with the endpoint's secret. */
@Entity('webhook_endpoints')
export class WebhookEndpoint {
  @PrimaryColumn({
    type: 'bigint',
    generated: 'identity',
    generatedIdentity: 'BY DEFAULT',
    transformer: bigintToNumber,
    primaryKeyConstraintName: 'pk_webhook_endpoints',
  })
  id: number;

  @Column({ type: 'varchar', length: 2048 })
  url: string;

  /** Event types, or `*` for all. */
  @Column({ type: 'varchar', length: 40, array: true })
  events: WebhookEventChoice[];

  @Column({ type: 'varchar', length: 500, nullable: true })
  description: string | null;

  @Column({ type: 'boolean', default: true })
  enabled: boolean;

  /** The signing secret, sealed (see webhook-secrets.ts); never answered but on creation and rotation. */
  @Column({ type: 'text' })
  secretSealed: string;

  /** After a rotation, the secret before it, which also signs deliveries until {@link previousSecretUntil}. */
  @Column({ type: 'text', nullable: true })
  previousSecretSealed: string | null;

  @Column({ ...TIMESTAMP, nullable: true })
  previousSecretUntil: Date | null;

  /** Since when every delivery to it failed; null while it succeeds. */
  @Column({ ...TIMESTAMP, nullable: true })
  failingSince: Date | null;

  @CreateDateColumn(TIMESTAMP)
  createdAt: Date;

  @UpdateDateColumn(TIMESTAMP)
  updatedAt: Date;

  @DeleteDateColumn({ ...TIMESTAMP, nullable: true })
  deletedAt: Date | null;
}
