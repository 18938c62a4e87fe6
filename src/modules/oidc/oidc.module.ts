import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SessionsModule } from '../auth/sessions.module';
import { UsersModule } from '../users/users.module';
import { IdentityUsersService } from './identity-users.service';
import { OidcStrategy } from './oidc.strategy';
import { UserIdentitiesRepository } from './user-identities.repository';
import { UserIdentity } from './user-identity.entity';

/** Access tokens from the team's identity provider (OIDC_ISSUER): their passport strategy and the users they name. */
@Module({
  imports: [TypeOrmModule.forFeature([UserIdentity]), SessionsModule, UsersModule],
  providers: [UserIdentitiesRepository, IdentityUsersService, OidcStrategy],
})
export class OidcModule {}
