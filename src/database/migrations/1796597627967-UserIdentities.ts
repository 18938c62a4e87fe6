import { MigrationInterface, QueryRunner } from 'typeorm';

export class UserIdentities1796597627967 implements MigrationInterface {
  name = 'UserIdentities1796597627967';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE "user_identities" ("issuer" character varying(2048) NOT NULL, "subject" character varying(255) NOT NULL, "user_id" bigint NOT NULL, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "pk_user_identities" PRIMARY KEY ("issuer", "subject"))',
    );
    await queryRunner.query('CREATE INDEX "ix_user_identities_user" ON "user_identities"  ("user_id") ');
    await queryRunner.query(
      'ALTER TABLE "user_identities" ADD CONSTRAINT "fk_user_identities_user" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION',
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "user_identities" DROP CONSTRAINT "fk_user_identities_user"');
    await queryRunner.query('DROP INDEX "public"."ix_user_identities_user"');
    await queryRunner.query('DROP TABLE "user_identities"');
  }
}
