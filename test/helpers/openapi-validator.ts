import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { OpenAPIObject } from '@nestjs/swagger';

type Schema = Record<string, unknown>;

/** The document has no such route at all (an unknown route, a test-only probe). */
export class UndocumentedOperation extends Error {}

/**
 * Checks response bodies against the OpenAPI document: the schema of the operation (found by method and concrete
 * path) and status. Objects are closed: a key the document does not describe fails, as does a missing required key.
 */
export class OpenApiResponseValidator {
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly routes: { method: string; template: string; pattern: RegExp }[] = [];

  constructor(private readonly document: OpenAPIObject) {
    addFormats(this.ajv);
    this.ajv.addSchema({
      $id: 'openapi',
      components: { schemas: close(rewriteRefs(document.components?.schemas ?? {})) },
    });
    for (const [template, item] of Object.entries(document.paths)) {
      const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
      for (const method of Object.keys(item)) this.routes.push({ method, template, pattern });
    }
  }

  /** The problems of `body` as the response of `METHOD path` with `status`; empty when it conforms. */
  problems(method: string, path: string, status: number, body: unknown): string[] {
    const validate = this.validatorFor(method.toLowerCase(), path.split('?')[0], status);
    if (validate(body)) return [];
    return (validate.errors ?? []).map(
      (error) => `${error.instancePath || '/'} ${error.message ?? ''} ${JSON.stringify(error.params)}`,
    );
  }

  private validatorFor(method: string, path: string, status: number): ValidateFunction {
    const route = this.routes.find((candidate) => candidate.method === method && candidate.pattern.test(path));
    if (!route)
      throw new UndocumentedOperation(`the OpenAPI document has no operation ${method.toUpperCase()} ${path}`);
    const key = `${method} ${route.template} ${status}`;
    const cached = this.compiled.get(key);
    if (cached) return cached;
    const responses = (this.document.paths[route.template] as Record<string, { responses: Record<string, any> }>)[
      method
    ].responses;
    const schema = responses[String(status)]?.content?.['application/json']?.schema as Schema | undefined;
    if (!schema)
      throw new Error(
        `the OpenAPI document does not describe status ${status} of ${method.toUpperCase()} ${route.template}`,
      );
    const validate = this.ajv.compile(close<Schema>(rewriteRefs(schema)));
    this.compiled.set(key, validate);
    return validate;
  }
}

function rewriteRefs<T>(value: T): T {
  if (Array.isArray(value)) return value.map(rewriteRefs) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [
        key,
        key === '$ref' && typeof inner === 'string' ? inner.replace(/^#\//, 'openapi#/') : rewriteRefs(inner),
      ]),
    ) as T;
  }
  return value;
}

/**
 * Object schemas that list their properties allow no others, unless they say so themselves. OpenAPI 3.0's
 * `nullable` next to `allOf` (a nullable reference) becomes JSON Schema's `anyOf [..., null]`.
 */
function close<T>(value: T): T {
  if (Array.isArray(value)) return value.map(close) as T;
  if (value && typeof value === 'object') {
    const schema: Schema = Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, close(inner)]));
    if (schema.properties && schema.additionalProperties === undefined && !schema.allOf)
      schema.additionalProperties = false;
    if (schema.nullable === true && schema.allOf) {
      const { nullable: _nullable, type: _type, ...rest } = schema;
      return { anyOf: [rest, { type: 'null' }] } as T;
    }
    return schema as T;
  }
  return value;
}
