import { HttpStatus, Injectable, PipeTransform } from '@nestjs/common';
import { AppException } from './app.exception';

/** A path id: a positive integer that fits a PostgreSQL bigint and a JSON number; anything else is a 400. */
@Injectable()
export class IdParamPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    const id = /^\d{1,16}$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(id) || id < 1) {
      throw new AppException(HttpStatus.BAD_REQUEST, 'validationFailed', {}, [
        { field: 'id', message: 'id must be a positive integer' },
      ]);
    }
    return id;
  }
}
