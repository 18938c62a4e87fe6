import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../ormconfig';
import { createLogger } from '../src/common/logging/logger';
import { migrateDatabase } from '../src/database/database-server';
import { ActivityLog } from '../src/modules/activity-log/activity-log.entity';
import {
  ActivityFilters,
  ActivityLogRepository,
  ActivityOrder,
} from '../src/modules/activity-log/activity-log.repository';
import { createDatabase, dropDatabase } from './setup/test-database';

/** Keeps every SELECT the repository sends to the pool, with its parameters. */
class QueryRecorder {
  readonly queries: { sql: string; parameters: unknown[] }[] = [];

  attach(pool: { query: (...args: any[]) => unknown }): void {
    const original = pool.query.bind(pool);
    pool.query = (...args: any[]) => {
      const config = args[0];
      if (config && typeof config === 'object' && /^\s*SELECT/i.test(config.text)) {
        this.queries.push({ sql: config.text, parameters: config.values ?? [] });
      }
      return original(...args);
    };
  }
}

type PlanNode = {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Parent Relationship'?: string;
  Plans?: PlanNode[];
};
const nodes = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodes)];
/** The plan without its InitPlans: how the page's rows themselves are found (the total is counted in an InitPlan). */
const pageNodes = (plan: PlanNode): PlanNode[] => [
  plan,
  ...(plan.Plans ?? []).filter((child) => child['Parent Relationship'] !== 'InitPlan').flatMap(pageNodes),
];

describe('the activity list’s query paths at scale', () => {
  const databaseName = `logbook_plans_${process.pid}`;
  let dataSource: DataSource;
  let recorder: QueryRecorder;
  let repository: ActivityLogRepository;
  let indexOf: Map<string, string>;
  let filled: Set<string>;
  const seqScansOfRows = (plan: PlanNode[]) =>
    plan.filter((node) => node['Node Type'] === 'Seq Scan' && filled.has(node['Relation Name'] ?? ''));
  /** The table's indexes a plan uses (a partition's copy counts as its table's index). */
  const indexesUsed = (plan: PlanNode[]) =>
    plan
      .map((node) => node['Index Name'])
      .filter((name): name is string => !!name)
      .map((name) => indexOf.get(name) ?? name);

  beforeAll(async () => {
    const url = await createDatabase(process.env.TEST_ADMIN_DATABASE_URL!, databaseName);
    await migrateDatabase(url, createLogger('silent'));
    recorder = new QueryRecorder();
    dataSource = await new DataSource(dataSourceOptions(url, 2)).initialize();
    recorder.attach((dataSource.driver as any).master);
    // 60,000 activities over 200 users and about a year.
    await dataSource.query(`
      INSERT INTO activities (user_id, action, status, actor_name, actor_email, target_type, target_id, context_source, timestamp)
      SELECT g % 200 + 1,
             (ARRAY['LOGIN','VIEW_COURSE','DOWNLOAD_FILE','LOGOUT','SUBMIT'])[g % 5 + 1],
             (ARRAY['PENDING','IN_PROGRESS','DONE','FAILED'])[g % 7 % 4 + 1],
             'User', 'user@example.com',
             (ARRAY['COURSE','FILE','LESSON'])[g % 3 + 1], 'target-' || (g % 500),
             'WEB_APP', timestamp '2025-01-01' + (g * interval '9 minutes')
        FROM generate_series(1, 60000) AS g`);
    // Loaded after the migrations, so into the DEFAULT partition: moved into partitions of their months, as an
    // import would.
    await dataSource.query('SELECT activities_split_default()');
    await dataSource.query('VACUUM ANALYZE activities');
    // Each partition has its own copy of every index of the table, named after the partition.
    const copies: { child: string; parent: string }[] = await dataSource.query(`
      SELECT c.relname AS child, p.relname AS parent FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       WHERE c.relkind = 'i'`);
    indexOf = new Map(copies.map(({ child, parent }) => [child, parent]));
    // Empty partitions (DEFAULT, months ahead) are read by a sequential scan of nothing, which is what a planner
    // should do; a sequential scan of a partition that holds rows is what the tests below refuse.
    const holding: { relname: string }[] = await dataSource.query(
      `SELECT relname FROM pg_class WHERE relispartition AND relkind = 'r' AND reltuples > 0`,
    );
    filled = new Set(holding.map(({ relname }) => relname));
    repository = new ActivityLogRepository(dataSource.getRepository(ActivityLog));
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await dropDatabase(process.env.TEST_ADMIN_DATABASE_URL!, databaseName);
  });

  const newest: ActivityOrder = { field: 'timestamp', direction: 'DESC' };
  const base: ActivityFilters = { includeDeleted: false };

  it.each([
    ['own activities, newest first', { ...base, userId: 17 }, newest, 'ix_activities_user_time'],
    ['by action', { ...base, userId: 17, actions: ['LOGIN'] }, newest, 'ix_activities_user_action_time'],
    ['by status', { ...base, userId: 17, status: 'DONE' }, newest, 'ix_activities_user_status_time'],
    [
      'by time window',
      { ...base, userId: 17, from: new Date('2025-03-01'), to: new Date('2025-05-31') },
      newest,
      'ix_activities_user_time',
    ],
    ['by target', { ...base, targetType: 'FILE', targetId: 'target-42' }, newest, 'ix_activities_target_time'],
    ['admin across users', base, newest, 'ix_activities_time'],
  ] as [string, ActivityFilters, ActivityOrder, string][])(
    '%s: an index, no sequential scan',
    async (_path, filters, order, index) => {
      for (const after of [undefined, { value: '2025-06-01T00:00:00.000Z', id: 30000 }]) {
        recorder.queries.length = 0;
        await repository.list(filters, order, after ? { limit: 20, after } : { limit: 20, page: 1 });
        const pageQuery = recorder.queries.find((query) => /ORDER BY/i.test(query.sql))!;
        const [
          {
            'QUERY PLAN': [plan],
          },
        ] = await dataSource.query(`EXPLAIN (FORMAT JSON) ${pageQuery.sql}`, pageQuery.parameters);
        const used = pageNodes(plan.Plan as PlanNode);
        expect(seqScansOfRows(used)).toEqual([]);
        expect(indexesUsed(used)).toContain(index);
      }
    },
  );

  it('counts one user’s totals from the index alone, in the page’s own statement', async () => {
    recorder.queries.length = 0;
    const { total } = await repository.list({ ...base, userId: 17 }, newest, { limit: 20, page: 1 });
    expect(total).toBe(300);
    expect(recorder.queries).toHaveLength(1);
    const [countQuery] = recorder.queries;
    expect(countQuery.sql).toMatch(/count\(\*\)/i);
    const [
      {
        'QUERY PLAN': [plan],
      },
    ] = await dataSource.query(`EXPLAIN (FORMAT JSON) ${countQuery.sql}`, countQuery.parameters);
    const used = nodes(plan.Plan as PlanNode);
    expect(seqScansOfRows(used)).toEqual([]);
    // A partial index over live rows answers the count without a visit to the table.
    const counting = nodes(plan.Plan as PlanNode).find((node) => node['Parent Relationship'] === 'InitPlan')!;
    expect(nodes(counting).map((node) => node['Node Type'])).toContain('Index Only Scan');
  });

  it('keeps a month to its own partition, and reads only the months of a time window', async () => {
    const [{ partitions }] = await dataSource.query(
      `SELECT count(*)::int AS partitions FROM pg_inherits WHERE inhparent = 'activities'::regclass`,
    );
    expect(partitions).toBeGreaterThanOrEqual(13); // a year of months, DEFAULT, and months ahead
    const [{ stray }] = await dataSource.query('SELECT count(*)::int AS stray FROM activities_default');
    expect(stray).toBe(0);

    const window = { ...base, userId: 17, from: new Date('2025-03-01'), to: new Date('2025-05-31T23:59:59.999Z') };
    const scanned = async (filters: ActivityFilters, after?: { value: string; id: number }) => {
      recorder.queries.length = 0;
      await repository.list(filters, newest, after ? { limit: 20, after } : { limit: 20, page: 1 });
      const pageQuery = recorder.queries.find((query) => /ORDER BY/i.test(query.sql))!;
      const [
        {
          'QUERY PLAN': [plan],
        },
      ] = await dataSource.query(`EXPLAIN (FORMAT JSON) ${pageQuery.sql}`, pageQuery.parameters);
      return [
        ...new Set(
          nodes(plan.Plan as PlanNode)
            .map((node) => node['Relation Name'])
            .filter(Boolean),
        ),
      ].sort();
    };
    expect(await scanned(window)).toEqual(['activities_p2025_03', 'activities_p2025_04', 'activities_p2025_05']);
    // A cursor page reads only the months at and before its position (and DEFAULT, which holds whatever is older
    // than the oldest month).
    const before = await scanned({ ...base, userId: 17 }, { value: '2025-02-10T00:00:00.000Z', id: 5000 });
    expect(before).toEqual(['activities_default', 'activities_p2025_01', 'activities_p2025_02']);
  });

  it('counts a page past the end with a statement of its own, and finds no rows', async () => {
    recorder.queries.length = 0;
    const { rows, total } = await repository.list({ ...base, userId: 17 }, newest, { limit: 20, page: 99 });
    expect(rows).toEqual([]);
    expect(total).toBe(300);
    expect(recorder.queries).toHaveLength(2);
  });
});
