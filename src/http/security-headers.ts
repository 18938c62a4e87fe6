import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Settings } from '../config/settings';
import { CONSOLE_PATH } from './console';

/** An API answers JSON only: nothing it sends may load, run or frame anything. */
const API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/** Swagger UI loads its own scripts, styles and images from /docs and calls the API on this origin. */
const DOCS_CSP =
  "default-src 'self'; base-uri 'self'; connect-src 'self'; font-src 'self' data:; form-action 'self'; " +
  "frame-ancestors 'self'; img-src 'self' data:; object-src 'none'; script-src 'self'; script-src-attr 'none'; " +
  "style-src 'self' 'unsafe-inline'";

/**
 * The console: its own scripts and styles only (no inline script, no style element or attribute in its markup), and
 * calls to the API on this origin. Styles set from script (the chart's) are not markup, and allowed.
 */
const CONSOLE_CSP =
  "default-src 'self'; base-uri 'none'; connect-src 'self'; font-src 'self'; form-action 'self'; " +
  "frame-ancestors 'none'; img-src 'self' data: blob:; object-src 'none'; script-src 'self'; script-src-attr 'none'; " +
  "style-src 'self'";

/** The policy for a request's path. */
function policyFor(url: string): string {
  if (/^\/docs(?:[/?]|$)/.test(url)) return DOCS_CSP;
  if (CONSOLE_PATH.test(url)) return CONSOLE_CSP;
  return API_CSP;
}

/**
 * Helmet's security headers and X-Request-Id on every response (the CSP by path: see API_CSP and DOCS_CSP), and
 * CORS for the origins of CORS_ORIGINS only. Registered before every other hook, so that a refusal (a 429, a 404)
 * carries them too.
 */
export async function registerSecurityHeaders(app: NestFastifyApplication, settings: Settings): Promise<void> {
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: false,
    // Same-origin readers only, except through CORS (which this header does not restrict).
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) => {
      // The request id too: one hook for both, since every hook costs each request a call through Fastify's chain.
      void reply.header('X-Request-Id', request.id).header('Content-Security-Policy', policyFor(request.url));
      done();
    });
  if (!settings.corsOrigins.length) return;
  await app.register(fastifyCors, {
    origin: settings.corsOrigins.includes('*') ? '*' : settings.corsOrigins,
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: [
      'Authorization',
      'Content-Type',
      'Accept-Language',
      'Cache-Control',
      'Idempotency-Key',
      'X-Request-Id',
      'X-API-Key',
    ],
    exposedHeaders: [
      'X-Request-Id',
      'X-Cache',
      'Location',
      'Content-Disposition',
      'Retry-After',
      'RateLimit-Limit',
      'RateLimit-Remaining',
      'RateLimit-Reset',
    ],
    // Bearer tokens, never cookies: no credentialed requests.
    credentials: false,
    maxAge: 600,
  });
}
