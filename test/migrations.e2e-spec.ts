import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { dataSourceOptions } from '../ormconfig';
import { pendingSchemaChanges } from '../src/database/migrations-runner';

@Entity()
class DriftProbe {
  @PrimaryGeneratedColumn()
  id: number;

  @Column()
  someName: string;
}

describe('the schema', () => {
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = await new DataSource(dataSourceOptions(process.env.TEST_DATABASE_URL!, 2)).initialize();
  });
  afterAll(async () => {
    await dataSource.destroy();
  });

  it('is built by migrations only, never synchronize', () => {
    expect(dataSourceOptions('postgres://x/y').synchronize).toBe(false);
    expect(dataSourceOptions('postgres://x/y').migrationsRun).toBe(false);
  });

  it('has every migration file applied', async () => {
    const files = readdirSync(join(__dirname, '..', 'src', 'database', 'migrations')).filter((file) =>
      file.endsWith('.ts'),
    );
    const applied = await dataSource.query('SELECT name FROM migrations');
    expect(applied).toHaveLength(files.length);
  });

  it('agrees with the entities: generating a migration would yield nothing', async () => {
    expect(await pendingSchemaChanges(dataSource)).toEqual([]);
  });

  it('is found out when an entity has no migration (the check can fail)', async () => {
    const drifted = await new DataSource({
      ...dataSourceOptions(process.env.TEST_DATABASE_URL!, 1),
      entities: [...(dataSourceOptions('postgres://x/y').entities as string[]), DriftProbe],
    }).initialize();
    try {
      const pending = await pendingSchemaChanges(drifted);
      expect(pending.join('\n')).toMatch(/CREATE TABLE "drift_probe" .*"some_name"/);
    } finally {
      await drifted.destroy();
    }
  });

  it('stores times as timestamptz and names every column in snake_case', async () => {
    const columns: { table_name: string; column_name: string; data_type: string }[] = await dataSource.query(
      `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    expect(columns.filter((column) => column.data_type === 'timestamp without time zone')).toEqual([]);
    expect(columns.filter((column) => !/^[a-z0-9_]+$/.test(column.column_name))).toEqual([]);
  });
});
