import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A random identity of this deployment (its database), made once. Every Redis key and channel of Logbook is
 * prefixed with it (RedisService.namespace), so deployments that share one Redis (staging and production, test
 * runs) never read each other's cache, counters or messages: user 5 of one is not user 5 of the other.
 */
export class DeploymentIdentity1796249100000 implements MigrationInterface {
  name = 'DeploymentIdentity1796249100000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE logbook_deployment (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        created_at timestamp(3) with time zone NOT NULL DEFAULT now(),
        single boolean NOT NULL DEFAULT true UNIQUE CHECK (single)
      )`);
    await queryRunner.query('INSERT INTO logbook_deployment DEFAULT VALUES');
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE logbook_deployment');
  }
}
