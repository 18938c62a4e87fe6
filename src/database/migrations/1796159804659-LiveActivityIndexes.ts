import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The indexes that lead with `user_id` cover live rows only (`WHERE deleted_at IS NULL`), as every non-ADMIN list
 * reads: a page's total is then counted by an index-only scan instead of one heap visit per row. TypeORM does not
 * diff an index's WHERE clause, so this migration is written by hand. `ix_activities_id` goes: the primary key
 * (`id`, `timestamp`) already finds a row by id, and every insert paid for the second btree.
 */
export class LiveActivityIndexes1796159804659 implements MigrationInterface {
  name = 'LiveActivityIndexes1796159804659';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "public"."ix_activities_id"');
    for (const [name, columns] of INDEXES) {
      await queryRunner.query(`DROP INDEX "public"."${name}"`);
      await queryRunner.query(`CREATE INDEX "${name}" ON "activities" (${columns}) WHERE deleted_at IS NULL`);
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const [name, columns] of INDEXES) {
      await queryRunner.query(`DROP INDEX "public"."${name}"`);
      await queryRunner.query(`CREATE INDEX "${name}" ON "activities" (${columns})`);
    }
    await queryRunner.query('CREATE INDEX "ix_activities_id" ON "activities" ("id")');
  }
}

const INDEXES: [string, string][] = [
  ['ix_activities_user_time', '"user_id", "timestamp", "id"'],
  ['ix_activities_user_action_time', '"user_id", "action", "timestamp", "id"'],
  ['ix_activities_user_status_time', '"user_id", "status", "timestamp", "id"'],
];
