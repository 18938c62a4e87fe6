import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditLogModule } from '../audit-log/audit-log.module';
import { WebhookOutboxModule } from '../webhooks/outbox/webhook-outbox.module';
import { ActivityListCache } from './activity-list-cache.service';
import { ActivityLogController } from './activity-log.controller';
import { ActivityLog } from './activity-log.entity';
import { ActivityLogRepository } from './activity-log.repository';
import { ActivityLogService } from './activity-log.service';
import { IdempotencyKey } from './idempotency-key.entity';
import { IdempotencyRepository } from './idempotency.repository';
import { UserActivitiesController } from './user-activities.controller';

@Module({
  imports: [TypeOrmModule.forFeature([ActivityLog, IdempotencyKey]), AuditLogModule, WebhookOutboxModule],
  controllers: [ActivityLogController, UserActivitiesController],
  providers: [ActivityLogRepository, IdempotencyRepository, ActivityLogService, ActivityListCache],
  exports: [ActivityLogService],
})
export class ActivityLogModule {}
