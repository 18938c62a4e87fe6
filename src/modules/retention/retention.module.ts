import { Module } from '@nestjs/common';
import { AuditLogModule } from '../audit-log/audit-log.module';
import { RetentionRepository } from './retention.repository';
import { RetentionService } from './retention.service';

/** Removes old months of activities and audit entries (`npm run cli -- retention`). */
@Module({
  imports: [AuditLogModule],
  providers: [RetentionRepository, RetentionService],
  exports: [RetentionService],
})
export class RetentionModule {}
