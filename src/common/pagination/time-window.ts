import { HttpStatus } from '@nestjs/common';
import { registerDecorator, ValidationArguments } from 'class-validator';
import { AppException } from '../http/app.exception';

/** A query time bound as sent: `YYYY-MM-DD` or a full ISO 8601 date-time. */
export type DateBound = string;

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
/** An ISO 8601 date-time with a time zone. */
export const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** `YYYY-MM-DD` or an ISO 8601 date-time with a zone, naming a real day. */
export function IsDateBound() {
  return (target: object, property: string) =>
    registerDecorator({
      name: 'isDateBound',
      target: target.constructor,
      propertyName: property,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && parseBound(value, 'start') !== undefined,
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property ?? 'value'} must be a date (YYYY-MM-DD) or an ISO 8601 date-time`,
      },
    });
}

/** The instant a bound names; a date-only upper bound means the end of that day (UTC). */
export function parseBound(value: string, side: 'start' | 'end'): Date | undefined {
  if (DATE_ONLY.test(value)) {
    const day = new Date(`${value}T00:00:00.000Z`);
    if (Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== value) return undefined;
    return side === 'start' ? day : new Date(day.getTime() + 86_400_000 - 1);
  }
  if (!ISO_DATE_TIME.test(value)) return undefined;
  const instant = new Date(value);
  return Number.isNaN(instant.getTime()) ? undefined : instant;
}

/** Both bounds inclusive; a lower bound after the upper bound is a 400. */
export function timeWindow(
  start: DateBound | undefined,
  end: DateBound | undefined,
  startName: string,
  endName: string,
): { from?: Date; to?: Date } {
  const from = start === undefined ? undefined : parseBound(start, 'start');
  const to = end === undefined ? undefined : parseBound(end, 'end');
  if (from && to && from > to) {
    throw new AppException(HttpStatus.BAD_REQUEST, 'validationFailed', {}, [
      { field: startName, message: `${startName} must not be after ${endName}` },
    ]);
  }
  return { from, to };
}
