import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createOpenApiDocument } from '../src/app.factory';
import { serializeOpenApi } from '../src/openapi/write-openapi';
import { http } from './helpers/http';
import { testSettings } from './helpers/settings';

const ROOT = join(__dirname, '..');
const committed = () => JSON.parse(readFileSync(join(ROOT, 'openapi.json'), 'utf8'));

describe('the OpenAPI document', () => {
  it('is committed exactly as the code produces it (run `npm run openapi` after changing the API)', async () => {
    const produced = await createOpenApiDocument(testSettings());
    expect(JSON.parse(serializeOpenApi(produced))).toEqual(committed());
  });

  it('is served at /docs-json, as committed', async () => {
    const res = await http('/docs-json');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(committed());
  });

  it('serves the Swagger UI at /docs', async () => {
    const res = await http('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.text).toContain('swagger-ui');
  });

  it('declares a bearer security scheme, required unless an operation opts out', () => {
    const document = committed();
    expect(document.components.securitySchemes.bearer).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
    );
    expect(document.security).toEqual([{ bearer: [] }]);
    expect(document.paths['/health'].get.security).toEqual([]);
  });

  it('gives every operation a unique, stable operationId, a summary and a tag', () => {
    const operations = Object.values(committed().paths).flatMap((item: any) => Object.values(item)) as any[];
    expect(operations.length).toBeGreaterThan(0);
    const ids = operations.map((operation) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const operation of operations) {
      expect(operation.operationId).toMatch(/^[A-Z][A-Za-z]+_[a-z][A-Za-z]+$/);
      expect(operation.summary).toBeTruthy();
      expect(operation.tags?.length).toBeGreaterThan(0);
    }
  });

  it('passes the Redocly linter with the committed ruleset', async () => {
    const bin = join(ROOT, 'node_modules', '.bin', 'redocly');
    const { stdout } = await promisify(execFile)(
      bin,
      ['lint', 'openapi.json', '--config', 'redocly.yaml', '--format', 'json'],
      {
        cwd: ROOT,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      },
    );
    const report = JSON.parse(stdout);
    expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
  });
});
