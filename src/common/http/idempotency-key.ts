import { createParamDecorator, ExecutionContext, HttpStatus, Injectable, PipeTransform } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppException } from './app.exception';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** An Idempotency-Key header, when sent: 1 to 255 characters (code points), else a 400. */
@Injectable()
export class IdempotencyKeyPipe implements PipeTransform<string | undefined, Promise<string | undefined>> {
  async transform(key: string | undefined): Promise<string | undefined> {
    if (key !== undefined && (key.length < 1 || [...key].length > 255)) {
      // A bad body is reported rather than a bad key, as ever: Nest runs the pipes of all parameters at once, and a
      // body's validation settles within promise callbacks, before the next turn of the event loop.
      await new Promise((resolve) => setImmediate(resolve));
      throw new AppException(HttpStatus.BAD_REQUEST, 'validationFailed', {}, [
        { field: IDEMPOTENCY_KEY_HEADER, message: `${IDEMPOTENCY_KEY_HEADER} must be 1 to 255 characters` },
      ]);
    }
    return key;
  }
}

const IdempotencyKeyHeader = createParamDecorator(
  (_: unknown, context: ExecutionContext) =>
    context.switchToHttp().getRequest<FastifyRequest>().headers['idempotency-key'] as string | undefined,
);

/** The request's Idempotency-Key, validated (IdempotencyKeyPipe); undefined when not sent. */
export const IdempotencyKey = () => IdempotencyKeyHeader(IdempotencyKeyPipe);
