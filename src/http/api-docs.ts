import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { buildOpenApiDocument } from '../openapi/openapi-document';

/** Swagger UI at /docs, and the OpenAPI document at /docs-json and /docs-yaml. */
export function serveApiDocs(app: NestFastifyApplication): void {
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
    customSiteTitle: 'Logbook API',
    swaggerOptions: { persistAuthorization: true, displayRequestDuration: true },
  });
}
