import { ExecutionContext, UnauthorizedException } from '@nestjs/common';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import { RequestStrategy } from './request-strategy';

interface Request {
  headers: Record<string, string>;
  user?: unknown;
}

const consulted: string[] = [];

class TokenStrategy extends PassportStrategy(RequestStrategy, 'spec-token') {
  async validate(request: Request) {
    consulted.push('token');
    await Promise.resolve();
    if (request.headers.authorization === 'store down') throw new Error('store down');
    return request.headers.authorization === 'Bearer t' ? { id: 'by token' } : false;
  }
}

class KeyStrategy extends PassportStrategy(RequestStrategy, 'spec-key') {
  validate(request: Request) {
    consulted.push('key');
    return request.headers['x-api-key'] === 'k' ? { id: 'by key' } : false;
  }
}

class CredentialsGuard extends AuthGuard(['spec-token', 'spec-key']) {}

async function signIn(headers: Record<string, string>): Promise<unknown> {
  const request: Request = { headers };
  const context = {
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({}) }),
  } as unknown as ExecutionContext;
  await new CredentialsGuard().canActivate(context);
  return request.user;
}

describe('RequestStrategy under an AuthGuard that lists several strategies', () => {
  beforeAll(() => {
    new TokenStrategy();
    new KeyStrategy();
  });
  beforeEach(() => (consulted.length = 0));

  it('signs the caller in with the first strategy that accepts the request', async () => {
    await expect(signIn({ authorization: 'Bearer t', 'x-api-key': 'k' })).resolves.toEqual({ id: 'by token' });
    expect(consulted).toEqual(['token']);
  });

  it('passes a request the first strategy declines to the next one', async () => {
    await expect(signIn({ authorization: 'Bearer lbk_other', 'x-api-key': 'k' })).resolves.toEqual({ id: 'by key' });
    expect(consulted).toEqual(['token', 'key']);
  });

  it('refuses a request every strategy declines', async () => {
    await expect(signIn({ authorization: 'Bearer wrong' })).rejects.toBeInstanceOf(UnauthorizedException);
    expect(consulted).toEqual(['token', 'key']);
  });

  it('ends the chain with the error of a strategy that cannot check its credential', async () => {
    await expect(signIn({ authorization: 'store down', 'x-api-key': 'k' })).rejects.toThrow('store down');
    expect(consulted).toEqual(['token']);
  });
});
