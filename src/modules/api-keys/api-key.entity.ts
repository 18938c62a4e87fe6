import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { bigintToNumber, TIMESTAMP } from '../../database/column-types';
import { User } from '../users/user.entity';
import type { ApiKeyScope } from './api-key-scopes';

/**
 * A key a service signs in with, as the user it belongs to, narrowed to its scopes. Only the SHA-256 of the key is
 * stored (a key holds 32 random bytes, so no slow hash is needed); `prefix` is what people recognise it by.
 */
@Entity('api_keys')
@Index('ix_api_keys_user', ['userId', 'id'], { where: 'revoked_at IS NULL' })
export class ApiKey {
  @PrimaryColumn({
    type: 'bigint',
    generated: 'identity',
    generatedIdentity: 'BY DEFAULT',
    transformer: bigintToNumber,
    primaryKeyConstraintName: 'pk_api_keys',
  })
  id: number;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  userId: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'fk_api_keys_user' })
  user?: User;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'varchar', length: 20, array: true })
  scopes: ApiKeyScope[];

  /** The key's first 12 characters. */
  @Column({ type: 'varchar', length: 12 })
  prefix: string;

  /** Hex SHA-256 of the whole key. */
  @Index('uq_api_keys_hash', { unique: true })
  @Column({ type: 'char', length: 64 })
  keyHash: string;

  @CreateDateColumn(TIMESTAMP)
  createdAt: Date;

  @Column({ ...TIMESTAMP, nullable: true })
  expiresAt: Date | null;

  /** Written at most once a minute per key. */
  @Column({ ...TIMESTAMP, nullable: true })
  lastUsedAt: Date | null;

  @Column({ ...TIMESTAMP, nullable: true })
  revokedAt: Date | null;
}
