import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { dataSourceOptions } from '../../ormconfig';
import { Settings } from '../config/settings';
import { ConsistentReads } from './consistent-reads';
import { PartitionMaintenance } from './partitions';
import { reachableReplicas, ReadReplicas } from './read-replicas';
import { Transactions } from './transactions';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [Settings],
      useFactory: async (settings: Settings) => {
        if (!settings.databaseUrl) throw new Error('DATABASE_URL is not set and no embedded PostgreSQL was started');
        const replicas = await reachableReplicas(settings.databaseReplicaUrls);
        return {
          ...dataSourceOptions(settings.databaseUrl, settings.databasePoolSize, replicas),
          retryAttempts: 3,
          retryDelay: 1000,
        };
      },
    }),
  ],
  providers: [Transactions, ReadReplicas, ConsistentReads, PartitionMaintenance],
  exports: [Transactions, ReadReplicas, ConsistentReads],
})
export class DatabaseModule {}
