import { randomBytes } from 'node:crypto';
import { newWebhookSecret, openSecret, sealSecret } from './webhook-secrets';
import { isPublicAddress } from './webhook-targets';

describe('webhook secrets', () => {
  const key = randomBytes(32);

  it('are whsec_ and the base64 of 32 random bytes, never twice the same', () => {
    const secrets = Array.from({ length: 20 }, newWebhookSecret);
    for (const secret of secrets) {
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    }
    expect(new Set(secrets).size).toBe(20);
  });

  it('are sealed so that only the key opens them, and any change is caught', () => {
    const secret = newWebhookSecret();
    const sealed = sealSecret(secret, key);
    expect(sealed).not.toContain(secret.slice(6, 20));
    expect(sealSecret(secret, key)).not.toBe(sealed);
    expect(openSecret(sealed, key)).toBe(secret);
    expect(() => openSecret(sealed, randomBytes(32))).toThrow();
    const [version, iv, tag, body] = sealed.split('.');
    const flipped = Buffer.from(body, 'base64url');
    flipped[0] ^= 1;
    expect(() => openSecret([version, iv, tag, flipped.toString('base64url')].join('.'), key)).toThrow();
    expect(() => openSecret('plain', key)).toThrow('not a sealed webhook secret');
  });
});

describe('webhook target addresses', () => {
  it.each([
    ['93.184.216.34', true],
    ['2606:2800:220:1:248:1893:25c8:1946', true],
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['::1', false],
    ['fe80::1', false],
    ['fd00::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:93.184.216.34', true],
    ['not an address', false],
  ])('%s is public: %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });
});
