import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import { bigintToNumber, TIMESTAMP } from '../../database/column-types';

/** A client's Idempotency-Key: the first request's fingerprint and answer, replayed for 24 hours. */
@Entity('idempotency_keys')
export class IdempotencyKey {
  @PrimaryColumn({ type: 'bigint', transformer: bigintToNumber, primaryKeyConstraintName: 'pk_idempotency_keys' })
  userId: number;

  @PrimaryColumn({ type: 'varchar', length: 255, primaryKeyConstraintName: 'pk_idempotency_keys' })
  key: string;

  /** SHA-256 of the method, path and canonical body. */
  @Column({ type: 'char', length: 64 })
  requestHash: string;

  /** The `data` of the first answer. */
  @Column({ type: 'jsonb', nullable: true })
  response: unknown;

  @CreateDateColumn(TIMESTAMP)
  createdAt: Date;
}
