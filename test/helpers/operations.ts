import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The operations of the committed openapi.json, for the tests that must cover every one of them. */

export type Schema = Record<string, any>;

export interface OpenApiDocument {
  paths: Record<string, Record<string, any>>;
  components: { schemas: Record<string, Schema> };
}

export const DOCUMENT = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'openapi.json'), 'utf8'),
) as OpenApiDocument;

/** The collections whose members a path id names. */
export const COLLECTIONS = ['users', 'activities', 'audit-logs', 'api-keys', 'webhooks'] as const;
export type Collection = (typeof COLLECTIONS)[number];

export interface DocumentedParam {
  name: string;
  in: string;
  schema: Schema;
  required: boolean;
}

export interface DocumentedOperation {
  /** `METHOD /path/{template}`. */
  key: string;
  operationId: string;
  method: string;
  template: string;
  params: DocumentedParam[];
  path: DocumentedParam[];
  query: DocumentedParam[];
  header: DocumentedParam[];
  /** The media types of the request body. */
  bodyTypes: string[];
  /** The JSON request body's schema. */
  body?: Schema;
  /** For each path parameter, the collection named by the literal segment before it (`/users/{id}`: users). */
  collections: Record<string, Collection | undefined>;
  /** The documented statuses. */
  statuses: number[];
  /** The scope an API key needs for the operation (`x-api-key-scope`); none: keys are refused. */
  keyScope?: string;
}

export function documentedOperations(): DocumentedOperation[] {
  return Object.entries(DOCUMENT.paths).flatMap(([template, item]) =>
    Object.entries(item)
      .filter(([method]) => ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'].includes(method))
      .map(([method, operation]: [string, any]): DocumentedOperation => {
        const params: DocumentedParam[] = (operation.parameters ?? []).map((param: any) => ({
          name: param.name,
          in: param.in,
          schema: param.schema ?? {},
          required: !!param.required,
        }));
        const content = (operation.requestBody?.content ?? {}) as Record<string, { schema: Schema }>;
        const segments = template.split('/');
        const collections: Record<string, Collection | undefined> = {};
        segments.forEach((segment, index) => {
          const name = /^\{(.+)\}$/.exec(segment)?.[1];
          const before = segments[index - 1] as Collection;
          if (name) collections[name] = COLLECTIONS.includes(before) ? before : undefined;
        });
        return {
          key: `${method.toUpperCase()} ${template}`,
          operationId: operation.operationId as string,
          method: method.toUpperCase(),
          template,
          params,
          path: params.filter((param) => param.in === 'path'),
          query: params.filter((param) => param.in === 'query'),
          header: params.filter((param) => param.in === 'header'),
          bodyTypes: Object.keys(content),
          body: content['application/json']?.schema,
          collections,
          statuses: Object.keys(operation.responses ?? {}).map(Number),
          keyScope: operation['x-api-key-scope'] as string | undefined,
        };
      }),
  );
}

/** A schema with its $ref and single-$ref allOf resolved (the siblings of such an allOf kept). */
export function resolveSchema(schema: Schema): Schema {
  if (schema.$ref)
    return resolveSchema(DOCUMENT.components.schemas[String(schema.$ref).replace('#/components/schemas/', '')]);
  if (Array.isArray(schema.allOf) && schema.allOf.length === 1) {
    const { allOf, ...siblings } = schema;
    return { ...resolveSchema(allOf[0] as Schema), ...siblings };
  }
  return schema;
}

/** A valid body built from the schema's own examples (enums: their first member). */
export function exampleOf(schema: Schema): unknown {
  const resolved = resolveSchema(schema);
  if (resolved.example !== undefined) return resolved.example;
  if (resolved.enum) return resolved.enum[0];
  if (resolved.type === 'object' && resolved.properties) {
    return Object.fromEntries(
      Object.entries(resolved.properties as Record<string, Schema>).map(([key, inner]) => [key, exampleOf(inner)]),
    );
  }
  if (resolved.type === 'array') return [exampleOf(resolved.items ?? {})];
  if (resolved.type === 'string') return 'x';
  if (resolved.type === 'integer' || resolved.type === 'number') return 1;
  if (resolved.type === 'boolean') return true;
  return {};
}
