import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { parseArgs } from 'node:util';
import { createLogger, PinoNestLogger } from '../common/logging/logger';
import { loadSettings, SettingsError } from '../config/settings';
import { runLedgerMonitor } from './ledger-monitor';

const USAGE = `usage: npm run cli -- create-admin --email E --password P [--name N]
       npm run cli -- retention --older-than 365d [--dry-run]
       npm run cli -- partitions
       npm run cli -- ledger-monitor --url URL --verifier-key VKEY --state FILE

  create-admin   creates an ADMIN, or makes an existing user one (restoring it if deleted)
  retention      drops the months of activities and audit entries wholly older than the age given
                 (d, h or m: 365d, 2160h); the audit trail records what went in a RETENTION entry
                 and /audit-logs/verify checks the kept chain. --dry-run only reports.
  partitions     makes missing monthly partitions now (Logbook also does it at start and daily)
  ledger-monitor checks a Logbook's signed checkpoint against the one kept in FILE: the log only grew
                 (consistency proof), it never shrank or rewrote history. No database, no token.

  All but ledger-monitor use the same database settings as npm start.`;

type Command = (app: INestApplicationContext, args: string[]) => Promise<number>;

/** `npm run cli -- <command>`: operator commands against the same database as `npm start`. */
async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(`${USAGE}\n`);
    return name === undefined || name === '--help' ? 0 : 2;
  }
  let prepared: Command | number;
  try {
    prepared = await command.prepare(rest);
  } catch (error) {
    // node:util parseArgs: an unknown option, a missing value...
    if (!String((error as { code?: string }).code).startsWith('ERR_PARSE_ARGS')) throw error;
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (typeof prepared === 'number') return prepared;

  const settings = loadSettings(process.env);
  const logger = createLogger(settings.logLevel === 'info' ? 'warn' : settings.logLevel);
  // The service's modules load only now, once the command and its arguments are found good: a mistake is
  // answered at once.
  const [{ NestFactory }, { AppModule }, { migrateDatabase, openDatabaseServer }, { readDeploymentId }] =
    await Promise.all([
      import('@nestjs/core'),
      import('../app.module'),
      import('../database/database-server'),
      import('../database/deployment'),
    ]);
  const database = await openDatabaseServer(settings, logger);
  try {
    settings.databaseUrl = database.url;
    await migrateDatabase(settings.databaseMigrationsUrl ?? database.url, logger);
    settings.deploymentId = await readDeploymentId(database.url);
    const app = await NestFactory.createApplicationContext(AppModule.forRoot(settings), {
      logger: new PinoNestLogger(logger),
    });
    try {
      return await prepared(app, rest);
    } finally {
      await app.close();
    }
  } finally {
    await database.embedded?.stop();
  }
}

/** Each command checks its arguments before any database is opened (a number: exit at once with it). */
const COMMANDS: Record<string, { prepare(args: string[]): Command | number | Promise<Command | number> }> = {
  'create-admin': {
    async prepare(args) {
      const { values } = parseArgs({
        args,
        options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' } },
      });
      const [{ validate }, { plainToInstance }, { RegisterDto }] = await Promise.all([
        import('class-validator'),
        import('class-transformer'),
        import('../modules/auth/dto/auth.dto'),
      ]);
      const input = plainToInstance(RegisterDto, {
        email: values.email,
        password: values.password,
        name: values.name ?? 'Administrator',
      });
      const problems = await validate(input);
      if (problems.length) {
        process.stderr.write(
          `${problems.flatMap((problem) => Object.values(problem.constraints ?? {})).join('\n')}\n${USAGE}\n`,
        );
        return 2;
      }
      return async (app) => {
        const [{ PasswordHasher }, { UsersService }] = await Promise.all([
          import('../modules/auth/password-hasher'),
          import('../modules/users/users.service'),
        ]);
        const passwordHash = await app.get(PasswordHasher).hash(input.password);
        const { user, created } = await app
          .get(UsersService)
          .createOrPromoteAdmin(
            { email: input.email, name: input.name, role: 'ADMIN', passwordHash },
            { id: null, email: 'cli' },
          );
        process.stdout.write(
          created
            ? `created ADMIN ${user.email} (id ${user.id})\n`
            : `${user.email} (id ${user.id}) is an ADMIN; its password was left unchanged\n`,
        );
        return 0;
      };
    },
  },
  retention: {
    prepare(args) {
      const { values } = parseArgs({
        args,
        options: { 'older-than': { type: 'string' }, 'dry-run': { type: 'boolean' } },
      });
      const age = parseAge(values['older-than']);
      if (age === undefined) {
        process.stderr.write(`--older-than must be a positive age such as 365d, 2160h or 90m\n${USAGE}\n`);
        return 2;
      }
      const dryRun = values['dry-run'] ?? false;
      return async (app: INestApplicationContext) => {
        const { RetentionService } = await import('../modules/retention/retention.service');
        const report = await app.get(RetentionService).removeOlderThan(new Date(Date.now() - age), { dryRun });
        const { activities, auditLogs } = report;
        process.stdout.write(
          `${dryRun ? 'would remove' : 'removed'} what is older than ${report.olderThan}:\n` +
            `  activities: ${activities.rows} in ${activities.partitions.length} months (${activities.partitions.join(', ') || 'none'})\n` +
            `  audit entries: ${auditLogs.entries} in ${auditLogs.partitions.length} months (${auditLogs.partitions.join(', ') || 'none'})` +
            (auditLogs.lastRemovedId === null
              ? '\n'
              : `, ids ${auditLogs.firstRemovedId}..${auditLogs.lastRemovedId}\n`),
        );
        return 0;
      };
    },
  },
  // Run by auditors elsewhere: done in prepare, so no database is ever opened.
  'ledger-monitor': {
    prepare(args) {
      return runLedgerMonitor(args, (line) => process.stdout.write(`${line}\n`));
    },
  },
  partitions: {
    prepare() {
      return async (app: INestApplicationContext) => {
        const [{ DataSource }, { ensurePartitions, MONTHS_AHEAD }] = await Promise.all([
          import('typeorm'),
          import('../database/partitions'),
        ]);
        const moved = await ensurePartitions(app.get(DataSource));
        process.stdout.write(
          `partitions ready (${MONTHS_AHEAD} months ahead); ${moved} activities moved out of DEFAULT\n`,
        );
        return 0;
      };
    },
  },
};

const AGE_UNITS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000 };

/** `365d`, `2160h`, `90m`: milliseconds; undefined for anything else. */
function parseAge(text: string | undefined): number | undefined {
  const match = /^(\d+)([dhm])$/.exec(text?.trim() ?? '');
  if (!match || Number(match[1]) <= 0) return undefined;
  return Number(match[1]) * AGE_UNITS[match[2]];
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(error instanceof SettingsError ? `${error.message}\n` : `${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
