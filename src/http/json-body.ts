import { HttpStatus } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { AppException } from '../common/http/app.exception';
import { unstorableJson, wellFormedJson } from '../common/http/storable-json';

/**
 * JSON bodies only: other media types get 415 from Fastify, malformed JSON a 400 in the envelope, and JSON that
 * PostgreSQL could not store (see storable-json.ts) a 400 naming the field.
 */
export function acceptJsonBodies(fastify: FastifyInstance, bodyLimit: number): void {
  fastify.removeAllContentTypeParsers();
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    void parseJson(request, body as string, (error, value) => {
      if (error) return done(new AppException(HttpStatus.BAD_REQUEST, 'invalidJson'), undefined);
      const unstorable = unstorableJson(value, 'body', body as string);
      if (unstorable) return done(new AppException(HttpStatus.BAD_REQUEST, 'validationFailed', {}, [unstorable]));
      done(null, wellFormedJson(value, body as string));
    });
  });
}
