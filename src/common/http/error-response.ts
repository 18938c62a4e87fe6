import { HttpException, HttpStatus } from '@nestjs/common';
import { QueryFailedError, QueryRunnerAlreadyReleasedError, QueryRunnerProviderAlreadyReleasedError } from 'typeorm';
import { Language } from '../i18n/language';
import { statusMessage, translate } from '../i18n/messages';
import { AppException, FieldError } from './app.exception';

/** The error envelope, exactly as clients read it. */
export interface ErrorEnvelope {
  success: false;
  error: { code: string; message: string; details: FieldError[] | null };
  requestId: string;
}

export interface RenderedError {
  status: number;
  body: ErrorEnvelope;
  headers: Record<string, string>;
  /** Unexpected: logged in full, answered without internals. */
  unexpected: boolean;
}

const TRANSPORT_STATUSES = new Set([413, 415]);

/** PostgreSQL and driver conditions that mean "the database cannot serve now; retrying later can work". */
const UNAVAILABLE_SQLSTATES = new Set(['40001', '40P01', '53300', '55P03', '57014', '57P01', '57P02', '57P03']);
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is closed|the database system is (starting up|shutting down)/i;

/** Maps any thrown value to the status, the error envelope and headers that answer it. */
export function renderError(error: unknown, requestId: string, language: Language): RenderedError {
  const { status, message, details, headers, unexpected } = classify(error, language);
  return {
    status,
    headers,
    unexpected,
    body: { success: false, error: { code: `HTTP_${status}`, message, details }, requestId },
  };
}

interface Classified {
  status: number;
  message: string;
  details: FieldError[] | null;
  headers: Record<string, string>;
  unexpected: boolean;
}

function classify(error: unknown, language: Language): Classified {
  const known = (status: number, message = statusMessage(status, language), headers: Record<string, string> = {}) => ({
    status,
    message,
    details: null,
    headers,
    unexpected: false,
  });

  if (error instanceof AppException) {
    return { ...known(error.getStatus(), error.messageIn(language), error.headers), details: error.details };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const route = /^Cannot (\w+) (.+)$/.exec(error.message);
    if (status === 404 && route) {
      return known(404, translate('routeNotFound', language, { method: route[1], path: route[2].split('?')[0] }));
    }
    // Fastify's transport errors (413, 415) reach here through Nest as plain HttpExceptions: use the catalog's text.
    const ownMessage = language === 'en' && !TRANSPORT_STATUSES.has(status) ? error.message : undefined;
    return status >= 500 ? { ...known(status), unexpected: true } : known(status, ownMessage);
  }
  if (isUnavailable(error)) return known(HttpStatus.SERVICE_UNAVAILABLE, undefined, { 'Retry-After': '1' });
  if (error instanceof QueryFailedError && sqlState(error) === '23505') return known(409);
  return { ...known(500), unexpected: true };
}

function sqlState(error: unknown): string | undefined {
  const driverError = (error as { driverError?: { code?: string } }).driverError;
  return driverError?.code ?? (error as { code?: string }).code;
}

function isUnavailable(error: unknown): boolean {
  // TypeORM releases a transaction's connection when the server cuts it (a restart, say); the transaction's next
  // statement then finds it released. Logbook never releases one by hand, so that is a lost connection too.
  if (error instanceof QueryRunnerAlreadyReleasedError || error instanceof QueryRunnerProviderAlreadyReleasedError) {
    return true;
  }
  const code = sqlState(error);
  if (code && (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_ERRNOS.has(code) || code.startsWith('08'))) return true;
  const message = error instanceof Error ? error.message : '';
  return UNAVAILABLE_MESSAGES.test(message);
}
