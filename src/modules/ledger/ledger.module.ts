import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { WebhookOutboxModule } from '../webhooks/outbox/webhook-outbox.module';
import { Settings } from '../../config/settings';
import { ActivityLog } from '../activity-log/activity-log.entity';
import { ActivityLogModule } from '../activity-log/activity-log.module';
import { AuditLog } from '../audit-log/audit-log.entity';
import { AuditLogModule } from '../audit-log/audit-log.module';
import { LedgerIntegrator } from './ledger-integrator.service';
import { LedgerKey } from './ledger-key';
import { LedgerController } from './ledger.controller';
import { LedgerRepository } from './ledger.repository';
import { LedgerService } from './ledger.service';

/** The Merkle tree over every record, its signed checkpoints and proofs (docs/AUDIT.md). */
@Module({
  imports: [TypeOrmModule.forFeature([ActivityLog, AuditLog]), ActivityLogModule, AuditLogModule, WebhookOutboxModule],
  controllers: [LedgerController],
  providers: [
    { provide: LedgerKey, inject: [Settings], useFactory: (settings: Settings) => LedgerKey.from(settings) },
    LedgerRepository,
    LedgerIntegrator,
    LedgerService,
  ],
  exports: [LedgerIntegrator, LedgerService],
})
export class LedgerModule {}
