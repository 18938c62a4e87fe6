import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Makes audit_logs tamper-evident in the database itself (see docs/AUDIT.md):
 * - every inserted row gets the next id, its time, the previous entry's hash and its own hash, under a row lock on
 *   audit_chain_head, so concurrent writers queue up and never fork the chain;
 * - UPDATE, DELETE and TRUNCATE of audit_logs are refused.
 */
export class AuditTrailChain1795411223097 implements MigrationInterface {
  name = 'AuditTrailChain1795411223097';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE SEQUENCE audit_logs_id_seq AS bigint`);
    await queryRunner.query(`
      CREATE TABLE audit_chain_head (
        id smallint PRIMARY KEY CHECK (id = 1),
        last_id bigint NOT NULL,
        last_hash char(64) NOT NULL
      )`);
    await queryRunner.query(`INSERT INTO audit_chain_head VALUES (1, 0, repeat('0', 64))`);
    // The canonical form of an entry, hashed with the previous entry's hash in front of it.
    await queryRunner.query(`
      CREATE FUNCTION audit_log_hash(entry audit_logs) RETURNS char(64) LANGUAGE sql STABLE AS $$
        SELECT encode(sha256(convert_to(entry.prev_hash || jsonb_build_array(
          entry.id,
          to_char(entry.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          entry.user_id,
          entry.username,
          entry.action,
          entry.entity_type,
          entry.entity_id,
          entry.old_values,
          entry.new_values,
          entry.ip_address,
          entry.user_agent,
          entry.request_id
        )::text, 'UTF8')), 'hex')
      $$`);
    await queryRunner.query(`
      CREATE FUNCTION audit_logs_chain() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        previous char(64);
      BEGIN
        SELECT last_hash INTO previous FROM audit_chain_head WHERE id = 1 FOR UPDATE;
        NEW.id := nextval('audit_logs_id_seq');
        NEW.created_at := date_trunc('milliseconds', clock_timestamp());
        NEW.prev_hash := previous;
        NEW.hash := audit_log_hash(NEW);
        UPDATE audit_chain_head SET last_id = NEW.id, last_hash = NEW.hash WHERE id = 1;
        RETURN NEW;
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER audit_logs_chain BEFORE INSERT ON audit_logs
      FOR EACH ROW EXECUTE FUNCTION audit_logs_chain()`);
    await queryRunner.query(`
      CREATE FUNCTION audit_logs_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_logs is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON audit_logs
      FOR EACH ROW EXECUTE FUNCTION audit_logs_refuse_change()`);
    await queryRunner.query(`
      CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
      FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_refuse_change()`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER audit_logs_no_truncate ON audit_logs`);
    await queryRunner.query(`DROP TRIGGER audit_logs_append_only ON audit_logs`);
    await queryRunner.query(`DROP FUNCTION audit_logs_refuse_change()`);
    await queryRunner.query(`DROP TRIGGER audit_logs_chain ON audit_logs`);
    await queryRunner.query(`DROP FUNCTION audit_logs_chain()`);
    await queryRunner.query(`DROP FUNCTION audit_log_hash(audit_logs)`);
    await queryRunner.query(`DROP TABLE audit_chain_head`);
    await queryRunner.query(`DROP SEQUENCE audit_logs_id_seq`);
  }
}
