import {
  Check,
  Column,
  CreateDateColumn,
  DeleteDateColumn,
  Entity,
  Index,
  PrimaryColumn,
  UpdateDateColumn,
} from 'typeorm';
import { Role, ROLES } from '../../common/auth/auth-user';
import { bigintToNumber, TIMESTAMP } from '../../database/column-types';

@Entity('users')
@Check('ck_users_role', `role IN (${ROLES.map((role) => `'${role}'`).join(', ')})`)
export class User {
  @PrimaryColumn({
    type: 'bigint',
    generated: 'identity',
    generatedIdentity: 'BY DEFAULT',
    transformer: bigintToNumber,
    primaryKeyConstraintName: 'pk_users',
  })
  id: number;

  /** Stored lower-cased, so uniqueness and sign-in ignore case. */
  @Index('uq_users_email', { unique: true })
  @Column({ type: 'varchar', length: 254 })
  email: string;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'varchar', length: 20, default: 'PARTICIPANT' })
  role: Role;

  @Column({ type: 'varchar', length: 255 })
  passwordHash: string;

  @CreateDateColumn(TIMESTAMP)
  createdAt: Date;

  @UpdateDateColumn(TIMESTAMP)
  updatedAt: Date;

  @DeleteDateColumn({ ...TIMESTAMP, nullable: true })
  deletedAt: Date | null;
}
