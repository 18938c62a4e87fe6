import { HttpException, HttpStatus } from '@nestjs/common';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { AllExceptionsFilter } from '../common/http/all-exceptions.filter';
import { AppException } from '../common/http/app.exception';
import { renderError } from '../common/http/error-response';
import { statusMessage } from '../common/i18n/messages';

/** A path the router cannot take (malformed percent-encoding, a parameter over maxParamLength): 400 in the envelope. */
export function badUrl(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  void reply.header('X-Request-Id', request.id);
  const malformed = error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH';
  AllExceptionsFilter.reply(
    malformed
      ? new AppException(HttpStatus.BAD_REQUEST, 'validationFailed', {}, [
          { field: 'path', message: 'path must be a well-formed URL with parameters of at most 500 characters' },
        ])
      : error,
    request,
    reply,
  );
}

/**
 * What Node's HTTP parser refuses before any route (headers over its limit, malformed HTTP, too slow), in the
 * envelope. No request or reply exists yet, so the response is written to the socket as raw HTTP.
 */
export function clientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const requestId = randomUUID();
  const { body } = renderError(new HttpException(statusMessage(status, 'en'), status), requestId, 'en');
  const text = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy(error);
}
