import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { bigintToNumber, TIMESTAMP } from '../../database/column-types';
import { User } from '../users/user.entity';

/** A person as the identity provider names them (`iss`, `sub`), and the Logbook user they are. */
@Entity('user_identities')
@Index('ix_user_identities_user', ['userId'])
export class UserIdentity {
  @PrimaryColumn({ type: 'varchar', length: 2048, primaryKeyConstraintName: 'pk_user_identities' })
  issuer: string;

  @PrimaryColumn({ type: 'varchar', length: 255, primaryKeyConstraintName: 'pk_user_identities' })
  subject: string;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  userId: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'fk_user_identities_user' })
  user?: User;

  @CreateDateColumn(TIMESTAMP)
  createdAt: Date;
}
