import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { AuditLogModule } from '../audit-log/audit-log.module';
import { UsersModule } from '../users/users.module';
import { ApiKeyScopeGuard } from '../api-keys/api-key-scope.guard';
import { AuthController } from './auth.controller';
import { AuthenticationGuard, RolesGuard } from './auth.guards';
import { AuthService } from './auth.service';
import { JwtStrategy } from './jwt.strategy';
import { LoginThrottleService } from './login-throttle.service';
import { PasswordHasher } from './password-hasher';
import { SessionsModule } from './sessions.module';
import { TokenService } from './token.service';

/**
 * Sign-in and tokens; registers the credentials' passport strategies and the global guards: a caller signed in by one
 * of them on every route, then roles.
 */
@Module({
  imports: [PassportModule, UsersModule, SessionsModule, AuditLogModule],
  controllers: [AuthController],
  providers: [
    AuthService,
    TokenService,
    PasswordHasher,
    LoginThrottleService,
    JwtStrategy,
    { provide: APP_GUARD, useClass: AuthenticationGuard },
    { provide: APP_GUARD, useClass: ApiKeyScopeGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
  ],
  exports: [PasswordHasher],
})
export class AuthModule {}
