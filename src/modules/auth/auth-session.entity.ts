import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { bigintToNumber, TIMESTAMP } from '../../database/column-types';
import { User } from '../users/user.entity';

/** One login: what an access token names (`sid`) and what its refresh tokens belong to. */
@Entity('auth_sessions')
@Index('ix_auth_sessions_user_active', ['userId'], { where: 'revoked_at IS NULL' })
export class AuthSession {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'pk_auth_sessions' })
  id: string;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  userId: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'fk_auth_sessions_user' })
  user?: User;

  @CreateDateColumn(TIMESTAMP)
  createdAt: Date;

  @Column({ ...TIMESTAMP })
  expiresAt: Date;

  @Column({ ...TIMESTAMP, nullable: true })
  revokedAt: Date | null;

  /** LOGOUT, PASSWORD_CHANGE, REFRESH_REUSE, USER_DELETED, ROLE_CHANGED. */
  @Column({ type: 'varchar', length: 30, nullable: true })
  revokedReason: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ipAddress: string | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  userAgent: string | null;
}
