import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { STATUS_MESSAGES } from '../common/i18n/messages';
import { KEY_SCOPE_EXTENSION } from '../modules/api-keys/api-key-scopes';

export const BEARER_SCHEME = 'bearer';
export const API_KEY_SCHEME = 'apiKey';
export const OIDC_SCHEME = 'oidc';

/** The OpenAPI document as the code defines it; `npm run openapi` commits it as openapi.json. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Logbook API')
    .setDescription(
      'Record what users do (activities) and read them back with filters, keyset pages and caching; ' +
        'keep a tamper-evident, append-only audit trail of every change and sign-in. ' +
        'Every response under /api/v1 is the envelope `{ success, message, data, meta }`; errors are ' +
        '`{ success: false, error: { code, message, details }, requestId }`. Messages follow Accept-Language (en, th, de).',
    )
    .setVersion('1.0.0')
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    .addServer('/', 'This server')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The accessToken from /api/v1/auth/login' },
      BEARER_SCHEME,
    )
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description:
          'An access token from the identity provider the server trusts (OIDC_ISSUER, OIDC_AUDIENCE): RS256, PS256, ' +
          'ES256 or EdDSA, checked against its JWKS. It acts as the Logbook user linked to its `iss` and `sub`, ' +
          'made on first sight. Not accepted where the server sets no identity provider.',
      },
      OIDC_SCHEME,
    )
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'X-API-Key',
        description:
          'An API key (`lbk_...`, from POST /api/v1/api-keys), also accepted as `Authorization: Bearer <key>`. ' +
          'Only on operations that name the scope it needs (`x-api-key-scope`); elsewhere a key gets 403.',
      },
      API_KEY_SCHEME,
    )
    .addSecurityRequirements(BEARER_SCHEME)
    .addSecurityRequirements(OIDC_SCHEME)
    .addTag('Health', 'Liveness and readiness of the service and its database and cache')
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controllerKey, methodKey) => `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
  return documentKeyScopes(documentServiceErrors(documentBodyErrors(typeNullableReferences(document))));
}

/**
 * An operation that names the scope a key needs (`x-api-key-scope`) takes a key as well as a bearer token. Any
 * operation that takes a credential can answer 403: to a key, every operation outside its scopes.
 */
function documentKeyScopes(document: OpenAPIObject): OpenAPIObject {
  const envelope = { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelopeDto' } } };
  for (const [path, item] of Object.entries(document.paths)) {
    for (const operation of [item.get, item.post, item.put, item.patch, item.delete]) {
      if (!operation) continue;
      if ((operation as unknown as Record<string, unknown>)[KEY_SCOPE_EXTENSION]) {
        operation.security = [{ [BEARER_SCHEME]: [] }, { [OIDC_SCHEME]: [] }, { [API_KEY_SCHEME]: [] }];
      }
      if (path.startsWith('/api/') && operation.security?.length !== 0) {
        operation.responses['403'] ??= { description: STATUS_MESSAGES[403].en, content: envelope };
      }
    }
  }
  return document;
}

/**
 * Any operation of the API can answer 429 (the client's RATE_LIMIT_MAX is spent, or more requests are in progress
 * than CONCURRENCY_LIMIT: refused before any work) and 503 (the database cannot serve now), both with Retry-After.
 */
function documentServiceErrors(document: OpenAPIObject): OpenAPIObject {
  const envelope = { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelopeDto' } } };
  const headers = {
    'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' as const } },
  };
  for (const [path, item] of Object.entries(document.paths)) {
    if (!path.startsWith('/api/')) continue;
    for (const operation of [item.get, item.post, item.put, item.patch, item.delete]) {
      if (!operation) continue;
      operation.responses['429'] ??= { description: STATUS_MESSAGES[429].en, headers, content: envelope };
      operation.responses['503'] ??= { description: STATUS_MESSAGES[503].en, headers, content: envelope };
    }
  }
  return document;
}

/**
 * Any operation that can carry a body (POST, PUT, PATCH, DELETE) can also answer 400 (malformed JSON), 413 (too
 * large) and 415 (not JSON), even one that takes none: Fastify reads a body that is sent before the handler runs.
 */
function documentBodyErrors(document: OpenAPIObject): OpenAPIObject {
  const envelope = { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelopeDto' } } };
  for (const item of Object.values(document.paths)) {
    for (const operation of [item.post, item.put, item.patch, item.delete]) {
      if (!operation) continue;
      for (const status of [400, 413, 415]) {
        operation.responses[String(status)] ??= { description: STATUS_MESSAGES[status].en, content: envelope };
      }
    }
  }
  return document;
}

/**
 * OpenAPI 3.0 spells a nullable reference `{ type: object, nullable: true, allOf: [$ref] }`; Nest's generator drops
 * the `type`, which leaves `nullable` meaningless to validators and generators. Put it back.
 */
function typeNullableReferences<T>(node: T): T {
  if (Array.isArray(node)) {
    node.forEach(typeNullableReferences);
  } else if (node && typeof node === 'object') {
    const schema = node as Record<string, unknown>;
    if (schema.nullable === true && Array.isArray(schema.allOf) && schema.type === undefined) schema.type = 'object';
    Object.values(schema).forEach(typeNullableReferences);
  }
  return node;
}
