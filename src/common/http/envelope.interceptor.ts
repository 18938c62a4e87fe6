import { CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { map, Observable } from 'rxjs';
import { RequestContextStore } from '../context/request-context';
import { pickLanguage } from '../i18n/language';
import { translate } from '../i18n/messages';
import { ApiResult } from './api-result';

export const API_PREFIX = '/api/v1';
const RAW_RESPONSE = 'logbook:raw-response';

/** Marks a handler under /api/v1 whose response is not enveloped (a download stream). */
export const RawResponse = () => SetMetadata(RAW_RESPONSE, true);

export interface SuccessEnvelope<T> {
  success: true;
  message: string;
  data: T;
  meta?: ApiResult<T>['meta'];
}

/** Wraps every /api/v1 response in `{ success, message, data, meta }`; `meta` only on lists. */
@Injectable()
export class EnvelopeInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const raw = this.reflector.getAllAndOverride<boolean>(RAW_RESPONSE, [context.getHandler(), context.getClass()]);
    if (raw || !request.url.startsWith(API_PREFIX)) return next.handle();
    const language = RequestContextStore.current()?.language ?? pickLanguage(request.headers['accept-language']);
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    return next.handle().pipe(
      map((result: unknown): SuccessEnvelope<unknown> | string => {
        if (result instanceof ApiResult) {
          void reply.headers(result.headers);
          if (result.serialized) {
            // The same bytes JSON.stringify would write for the envelope below, built around the page's own text.
            void reply.type('application/json; charset=utf-8');
            const message = JSON.stringify(translate(result.message, language, result.params));
            return `{"success":true,"message":${message},"data":${result.serialized.data},"meta":${result.serialized.meta}}`;
          }
          const envelope: SuccessEnvelope<unknown> = {
            success: true,
            message: translate(result.message, language, result.params),
            data: result.data,
          };
          if (result.meta) envelope.meta = result.meta;
          return envelope;
        }
        return { success: true, message: translate('success', language), data: result ?? null };
      }),
    );
  }
}
