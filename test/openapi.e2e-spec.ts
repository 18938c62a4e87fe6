import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createOpenApiDocument } from '../src/app.factory';
import { serializeOpenApi } from '../src/openapi/write-openapi';
import { startTestApp } from './helpers/app';
import { http } from './helpers/http';
import { OpenApiResponseValidator } from './helpers/openapi-validator';
import { ProbeModule } from './helpers/probe.module';
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

  it("declares bearer security schemes (Logbook's tokens, the identity provider's), required unless an operation opts out", () => {
    const document = committed();
    for (const scheme of ['bearer', 'oidc']) {
      expect(document.components.securitySchemes[scheme]).toEqual(
        expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
      );
    }
    expect(document.security).toEqual([{ bearer: [] }, { oidc: [] }]);
    expect(document.paths['/health'].get.security).toEqual([]);
  });

  it('gives every operation a unique, stable operationId, a summary, a description and one module tag', () => {
    const operations = Object.values(committed().paths).flatMap((item: any) => Object.values(item)) as any[];
    expect(operations.length).toBeGreaterThan(10);
    const ids = operations.map((operation) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const operation of operations) {
      expect(operation.operationId).toMatch(/^[A-Z][A-Za-z]+_[a-z][A-Za-z]+$/);
      expect(operation.summary).toBeTruthy();
      expect(operation.description).toBeTruthy();
      expect(operation.tags).toEqual([
        expect.stringMatching(/^(Health|Auth|Users|Activities|Audit logs|Ledger|API keys|Webhooks)$/),
      ]);
    }
  });

  it('documents every error response of the API as the error envelope, and 401 wherever a token is needed', () => {
    const document = committed();
    const paths: [string, any][] = Object.entries(document.paths);
    for (const [path, item] of paths) {
      const operations: any[] = Object.values(item);
      for (const operation of operations) {
        const responses: [string, any][] = Object.entries(operation.responses);
        for (const [status, response] of responses) {
          if (path === '/health' || Number(status) < 400) continue;
          expect([path, status, response.content['application/json'].schema]).toEqual([
            path,
            status,
            { $ref: '#/components/schemas/ErrorEnvelopeDto' },
          ]);
        }
        if (operation.requestBody)
          expect([path, Object.keys(operation.responses)]).toEqual([
            path,
            expect.arrayContaining(['400', '413', '415']),
          ]);
        const needsToken = operation.security === undefined && path !== '/health';
        if (needsToken)
          expect([path, Object.keys(operation.responses)]).toEqual([path, expect.arrayContaining(['401'])]);
      }
    }
  });

  it('names its enums as schemas of their own', () => {
    const schemas = committed().components.schemas;
    for (const name of [
      'Role',
      'ActivityStatus',
      'TargetType',
      'TargetModel',
      'AuditAction',
      'AuditEntityType',
      'AuditSortBy',
      'SortOrder',
      'ActivityOrdering',
      'ExportFormat',
    ]) {
      expect([name, schemas[name]?.enum?.length > 0]).toEqual([name, true]);
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

describe('the envelope as documented', () => {
  it('has exactly the keys the document gives it, on success, lists and errors; the check can fail', async () => {
    const validator = new OpenApiResponseValidator(await createOpenApiDocument(testSettings(), [ProbeModule]));
    const t = await startTestApp({ LOG_LEVEL: 'silent' }, [ProbeModule]);
    try {
      const plain = await http('/api/v1/probe/plain', {}, t.baseUrl);
      expect(validator.problems('GET', '/api/v1/probe/plain', 200, plain.body)).toEqual([]);
      const list = await http('/api/v1/probe/list', {}, t.baseUrl);
      expect(validator.problems('GET', '/api/v1/probe/list', 200, list.body)).toEqual([]);
      const invalid = await http('/api/v1/probe/batch', { method: 'POST', body: { items: [{}] } }, t.baseUrl);
      expect(invalid.status).toBe(400);
      expect(validator.problems('POST', '/api/v1/probe/batch', 400, invalid.body)).toEqual([]);

      expect(validator.problems('GET', '/api/v1/probe/plain', 200, { ...plain.body, extra: 1 })).not.toEqual([]);
      expect(validator.problems('GET', '/api/v1/probe/plain', 200, { ...plain.body, data: {} })).not.toEqual([]);
      const { meta: _meta, ...withoutMeta } = list.body;
      expect(validator.problems('GET', '/api/v1/probe/list', 200, withoutMeta)).not.toEqual([]);
      expect(
        validator.problems('POST', '/api/v1/probe/batch', 400, { ...invalid.body, requestId: undefined }),
      ).not.toEqual([]);
    } finally {
      await t.close();
    }
  });
});
