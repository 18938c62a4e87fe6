import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { parseArgs } from 'node:util';
import { validate } from 'class-validator';
import { plainToInstance } from 'class-transformer';
import { AppModule } from '../app.module';
import { createLogger, PinoNestLogger } from '../common/logging/logger';
import { loadSettings, SettingsError } from '../config/settings';
import { migrateDatabase, openDatabaseServer } from '../database/database-server';
import { RegisterDto } from '../modules/auth/dto/auth.dto';
import { PasswordHasher } from '../modules/auth/password-hasher';
import { UsersService } from '../modules/users/users.service';

const USAGE = `usage: npm run cli -- create-admin --email E --password P [--name N]

  create-admin   creates an ADMIN, or makes an existing user one (restoring it if deleted);
                 uses the same database settings as npm start`;

/** `npm run cli -- <command>`: operator commands against the same database as `npm start`. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'create-admin') {
    process.stderr.write(`${USAGE}\n`);
    return command === undefined || command === '--help' ? 0 : 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' } },
  });
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

  const settings = loadSettings(process.env);
  const logger = createLogger(settings.logLevel === 'info' ? 'warn' : settings.logLevel);
  const database = await openDatabaseServer(settings, logger);
  try {
    settings.databaseUrl = database.url;
    await migrateDatabase(database.url, logger);
    const app = await NestFactory.createApplicationContext(AppModule.forRoot(settings), {
      logger: new PinoNestLogger(logger),
    });
    try {
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
    } finally {
      await app.close();
    }
  } finally {
    await database.embedded?.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(error instanceof SettingsError ? `${error.message}\n` : `${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
