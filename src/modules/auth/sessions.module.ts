import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthSession } from './auth-session.entity';
import { RefreshToken } from './refresh-token.entity';
import { SessionStateService } from './session-state.service';
import { SessionsRepository } from './sessions.repository';

/** Logins and their live state, shared by Auth (sign-in, sign-out) and Users (deletion and role changes end them). */
@Module({
  imports: [TypeOrmModule.forFeature([AuthSession, RefreshToken])],
  providers: [SessionsRepository, SessionStateService],
  exports: [SessionsRepository, SessionStateService],
})
export class SessionsModule {}
