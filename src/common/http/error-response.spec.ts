import { BadRequestException, NotFoundException } from '@nestjs/common';
import { QueryFailedError, QueryRunnerAlreadyReleasedError, QueryRunnerProviderAlreadyReleasedError } from 'typeorm';
import { AppException } from './app.exception';
import { renderError } from './error-response';

const dbError = (code: string) => new QueryFailedError('INSERT ...', [], Object.assign(new Error('db'), { code }));

describe('renderError', () => {
  it('renders an AppException with its translated message, details and headers', () => {
    const error = new AppException(400, 'validationFailed', {}, [{ field: 'a', message: 'bad' }], { 'X-Y': '1' });
    expect(renderError(error, 'r1', 'de')).toEqual({
      status: 400,
      headers: { 'X-Y': '1' },
      unexpected: false,
      body: {
        success: false,
        error: { code: 'HTTP_400', message: 'Validierung fehlgeschlagen', details: [{ field: 'a', message: 'bad' }] },
        requestId: 'r1',
      },
    });
  });

  it("keeps a Nest exception's own English message, and uses the status message in other languages", () => {
    expect(renderError(new NotFoundException('Thing 5 not found'), 'r', 'en').body.error.message).toBe(
      'Thing 5 not found',
    );
    expect(renderError(new NotFoundException('Thing 5 not found'), 'r', 'th').body.error.message).toBe('ไม่พบข้อมูล');
    expect(renderError(new BadRequestException(), 'r', 'en').body.error.message).toBe('Bad Request');
  });

  it('maps a unique violation to 409', () => {
    expect(renderError(dbError('23505'), 'r', 'en').status).toBe(409);
  });

  it.each(['57P01', '08006', '40001', '53300', 'ECONNREFUSED'])(
    'maps database condition %s to a retryable 503',
    (code) => {
      const rendered = renderError(dbError(code), 'r', 'en');
      expect(rendered.status).toBe(503);
      expect(rendered.headers['Retry-After']).toBe('1');
    },
  );

  it('maps a lost connection to 503', () => {
    expect(renderError(new Error('Connection terminated unexpectedly'), 'r', 'en').status).toBe(503);
  });

  it('maps a transaction whose connection TypeORM released after the server cut it to 503', () => {
    expect(renderError(new QueryRunnerAlreadyReleasedError(), 'r', 'en').status).toBe(503);
    expect(renderError(new QueryRunnerProviderAlreadyReleasedError(), 'r', 'en').status).toBe(503);
  });

  it('answers anything else with a 500 that shows nothing of it', () => {
    const rendered = renderError(dbError('42P01'), 'r', 'en');
    expect(rendered.status).toBe(500);
    expect(rendered.unexpected).toBe(true);
    expect(JSON.stringify(rendered.body)).not.toMatch(/INSERT|42P01/);
  });
});
