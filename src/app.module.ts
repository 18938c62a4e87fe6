import { DynamicModule, Module, Type } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { AppCacheModule } from './cache/cache.module';
import { AllExceptionsFilter } from './common/http/all-exceptions.filter';
import { EnvelopeInterceptor } from './common/http/envelope.interceptor';
import { AppValidationPipe } from './common/http/validation.pipe';
import { SettingsModule } from './config/settings.module';
import { Settings } from './config/settings';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { ApiKeysModule } from './modules/api-keys/api-keys.module';
import { LedgerModule } from './modules/ledger/ledger.module';
import { OidcModule } from './modules/oidc/oidc.module';
import { WebhooksModule } from './modules/webhooks/webhooks.module';
import { RetentionModule } from './modules/retention/retention.module';
import { ActivityLogModule } from './modules/activity-log/activity-log.module';
import { AuditLogModule } from './modules/audit-log/audit-log.module';
import { AuthModule } from './modules/auth/auth.module';
import { UsersModule } from './modules/users/users.module';
import { RedisModule } from './redis/redis.module';

/** Wires the feature modules and registers the global pipe, interceptor and filter, once. */
@Module({})
export class AppModule {
  static forRoot(settings: Settings, extraModules: Type<unknown>[] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        SettingsModule.forRoot(settings),
        DatabaseModule,
        RedisModule,
        AppCacheModule,
        HealthModule,
        AuthModule,
        UsersModule,
        AuditLogModule,
        ActivityLogModule,
        LedgerModule,
        ApiKeysModule,
        OidcModule,
        WebhooksModule,
        RetentionModule,
        ...extraModules,
      ],
      providers: [
        { provide: APP_PIPE, useClass: AppValidationPipe },
        { provide: APP_INTERCEPTOR, useClass: EnvelopeInterceptor },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
      ],
    };
  }
}
