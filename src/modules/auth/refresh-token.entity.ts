import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { TIMESTAMP } from '../../database/column-types';
import { AuthSession } from './auth-session.entity';

/** A refresh token, known only by its SHA-256. Spent on use; presenting a spent one ends its session. */
@Entity('refresh_tokens')
@Index('ix_refresh_tokens_session', ['sessionId'])
export class RefreshToken {
  @PrimaryColumn({ type: 'char', length: 64, primaryKeyConstraintName: 'pk_refresh_tokens' })
  tokenHash: string;

  @Column({ type: 'uuid' })
  sessionId: string;

  @ManyToOne(() => AuthSession, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'session_id', foreignKeyConstraintName: 'fk_refresh_tokens_session' })
  session?: AuthSession;

  @CreateDateColumn(TIMESTAMP)
  createdAt: Date;

  @Column({ ...TIMESTAMP })
  expiresAt: Date;

  @Column({ ...TIMESTAMP, nullable: true })
  spentAt: Date | null;
}
