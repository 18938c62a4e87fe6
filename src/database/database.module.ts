import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { dataSourceOptions } from '../../ormconfig';
import { Settings } from '../config/settings';
import { PartitionMaintenance } from './partitions';
import { Transactions } from './transactions';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [Settings],
      useFactory: (settings: Settings) => {
        if (!settings.databaseUrl) throw new Error('DATABASE_URL is not set and no embedded PostgreSQL was started');
        return {
          ...dataSourceOptions(settings.databaseUrl, settings.databasePoolSize),
          retryAttempts: 3,
          retryDelay: 1000,
        };
      },
    }),
  ],
  providers: [Transactions, PartitionMaintenance],
  exports: [Transactions],
})
export class DatabaseModule {}
