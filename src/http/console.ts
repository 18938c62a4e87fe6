import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Where `npm run build` puts the console: dist/console, seen from the build (dist/src/http) or from the source
 * (src/http; its sibling console/ is the console's source, not what is served).
 */
const BUILT =
  basename(join(__dirname, '..', '..')) === 'dist'
    ? join(__dirname, '..', '..', 'console')
    : join(__dirname, '..', '..', 'dist', 'console');

export const CONSOLE_PATH = /^\/console(?:[/?]|$)/;

/** The built console's folder, or undefined when it was not built (tests that do not need it run from source). */
export function consoleRoot(): string | undefined {
  return existsSync(join(BUILT, 'index.html')) ? BUILT : undefined;
}

/**
 * The console at /console: its hashed assets (cached for a year), and its page for /console and every path under
 * it, where the page's own router takes over. Not built: /console answers 404 and says how to build it.
 */
export async function serveConsole(app: NestFastifyApplication, root = consoleRoot()): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  if (!root) {
    fastify.get('/console', (_request, reply) => {
      void reply.status(404).type('text/plain; charset=utf-8').send('The console is not built: run `npm run build`.');
    });
    return;
  }
  await app.register(fastifyStatic, {
    root: join(root, 'assets'),
    prefix: '/console/assets/',
    decorateReply: false,
    index: false,
    immutable: true,
    maxAge: '365d',
  });
  const page = readFileSync(join(root, 'index.html'));
  const sendPage = (_request: FastifyRequest, reply: FastifyReply) => {
    void reply.header('Cache-Control', 'no-cache').type('text/html; charset=utf-8').send(page);
  };
  fastify.get('/console', sendPage);
  fastify.get('/console/*', sendPage);
}
