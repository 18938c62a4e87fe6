import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createOpenApiDocument } from '../app.factory';
import { loadSettings } from '../config/settings';

/** `npm run openapi`: writes the document the code defines to openapi.json, which is committed. */
export const OPENAPI_FILE = resolve(process.cwd(), 'openapi.json');

export function serializeOpenApi(document: object): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

async function main(): Promise<void> {
  const document = await createOpenApiDocument(loadSettings({ NODE_ENV: 'development' }, { envFile: false }));
  writeFileSync(OPENAPI_FILE, serializeOpenApi(document));
  process.stdout.write(`wrote ${OPENAPI_FILE}\n`);
}

if (require.main === module) {
  main().catch((error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}
