import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The ledger: a Merkle tree (RFC 9162) over every activity as created and every audit entry, with signed
 * checkpoints (see src/modules/ledger and docs/AUDIT.md).
 *
 * - `ledger_pending`: records committed but not yet in the tree. The statement that stores a record adds its row
 *   here, so none is missed; the integrator takes rows out in the transaction that appends their leaves. No index:
 *   it is only ever read whole, a batch at a time, and stays small.
 * - `ledger_leaves`: one row per leaf, in tree order, with the leaf's text (which outlives its record).
 * - `ledger_nodes`: the hashes of complete subtrees whose height is a multiple of 4, so that any proof reads at most
 *   8 hashes per proof hash (one query in all), at ten million leaves as at ten.
 * - `ledger_state`: the tree's size and the hashes of its right edge (a compact range), where appending resumes.
 * - `ledger_checkpoints`: every signed checkpoint. The signing key is never in the database.
 *
 * Records that exist already wait in `ledger_pending`, activities with the status they were created with (the old
 * value of their first status change, when they had one).
 */
export class Ledger1796400000000 implements MigrationInterface {
  name = 'Ledger1796400000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE ledger_pending (
        kind varchar(8) NOT NULL CHECK (kind IN ('activity', 'audit')),
        record_id bigint NOT NULL,
        recorded_at timestamp(3) with time zone NOT NULL,
        status varchar(20)
      ) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000)`);
    await queryRunner.query(`
      CREATE TABLE ledger_leaves (
        leaf_index bigint NOT NULL,
        kind varchar(8) NOT NULL CHECK (kind IN ('activity', 'audit')),
        record_id bigint NOT NULL,
        leaf text NOT NULL,
        leaf_hash bytea NOT NULL,
        CONSTRAINT pk_ledger_leaves PRIMARY KEY (leaf_index) INCLUDE (leaf_hash),
        CONSTRAINT uq_ledger_leaves_record UNIQUE (kind, record_id)
      )`);
    await queryRunner.query(`
      CREATE TABLE ledger_nodes (
        level smallint NOT NULL,
        node_index bigint NOT NULL,
        hash bytea NOT NULL,
        CONSTRAINT pk_ledger_nodes PRIMARY KEY (level, node_index)
      )`);
    await queryRunner.query(`
      CREATE TABLE ledger_state (
        id smallint PRIMARY KEY CHECK (id = 1),
        tree_size bigint NOT NULL,
        frontier bytea NOT NULL
      )`);
    await queryRunner.query(`INSERT INTO ledger_state VALUES (1, 0, ''::bytea)`);
    await queryRunner.query(`
      CREATE TABLE ledger_checkpoints (
        tree_size bigint PRIMARY KEY,
        root_hash bytea NOT NULL,
        note text NOT NULL,
        created_at timestamp(3) with time zone NOT NULL DEFAULT now()
      )`);
    // The evidence only grows: the application never changes or removes a leaf, node or checkpoint. (Someone who
    // can turn this off is the attacker the signatures and monitors are for.)
    await queryRunner.query(`
      CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
      END
      $$`);
    for (const table of ['ledger_leaves', 'ledger_nodes', 'ledger_checkpoints']) {
      await queryRunner.query(
        `CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ${table}
         FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()`,
      );
    }
    await queryRunner.query(`
      INSERT INTO ledger_pending (kind, record_id, recorded_at, status)
      SELECT 'activity', a.id, a.timestamp,
             coalesce((SELECT e.old_values->>'status' FROM audit_logs e
                        WHERE e.entity_type = 'ActivityLog' AND e.entity_id = a.id::text AND e.action = 'UPDATE'
                          AND e.old_values ? 'status'
                        ORDER BY e.id LIMIT 1), a.status)
        FROM activities a ORDER BY a.created_at, a.id`);
    await queryRunner.query(`
      INSERT INTO ledger_pending (kind, record_id, recorded_at)
      SELECT 'audit', id, created_at FROM audit_logs ORDER BY id`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['ledger_checkpoints', 'ledger_state', 'ledger_nodes', 'ledger_leaves', 'ledger_pending']) {
      await queryRunner.query(`DROP TABLE ${table}`);
    }
    await queryRunner.query('DROP FUNCTION ledger_refuse_change()');
  }
}
