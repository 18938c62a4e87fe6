import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequestContextStore } from '../context/request-context';
import { pickLanguage } from '../i18n/language';
import { renderError } from './error-response';

/** The one place where any error becomes the error envelope. Also used for errors raised by Fastify itself. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private static readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    AllExceptionsFilter.reply(exception, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
  }

  static reply(exception: unknown, request: FastifyRequest, reply: FastifyReply): void {
    const language = RequestContextStore.current()?.language ?? pickLanguage(request.headers['accept-language']);
    const rendered = renderError(exception, request.id, language);
    if (rendered.unexpected) {
      AllExceptionsFilter.logger.error({ requestId: request.id, err: exception }, 'unexpected error');
    } else if (rendered.status === 503) {
      AllExceptionsFilter.logger.warn({ requestId: request.id, err: exception }, 'service unavailable');
    }
    if (reply.sent) return;
    void reply.status(rendered.status).headers(rendered.headers).send(rendered.body);
  }
}
