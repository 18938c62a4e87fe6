import { createHmac } from 'node:crypto';
import { SECRET_PREFIX } from './webhook-secrets';

/**
 * A Standard Webhooks signature: `v1,` and the base64 HMAC-SHA256, keyed with the secret's bytes (the base64 after
 * `whsec_`), of `<id>.<timestamp>.<body>`.
 */
export function webhookSignature(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}
