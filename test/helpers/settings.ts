import { loadSettings, Settings } from '../../src/config/settings';

/** The ledger's signing key in tests (a test that swaps the key makes another). */
export const TEST_LEDGER_KEY =
  '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJmo8HJ8QnK7T0Cv2ViPZLB6s4ebwmGchBd3QkYbFCgI\n-----END PRIVATE KEY-----\n';

/**
 * Settings as the tests run the app: the real environment's REDIS_URL (CI sets it), no `.env`, quiet logs, no
 * global rate limit, and whatever a test overrides.
 */
export function testSettings(overrides: Record<string, string | undefined> = {}): Settings {
  return loadSettings(
    {
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      REDIS_URL: process.env.REDIS_URL,
      DATABASE_URL: process.env.TEST_DATABASE_URL,
      PORT: '0',
      JWT_SECRET: 'logbook-test-secret-0123456789-abcdefghij',
      LEDGER_SIGNING_KEY: TEST_LEDGER_KEY,
      LEDGER_ORIGIN: 'logbook.test/ledger',
      // Records reach the ledger when a test integrates them (LedgerIntegrator.drain), so that no background write
      // lands between a test's look at the tables before and after a request.
      LEDGER_INTEGRATE_INTERVAL_MS: '60000',
      // The whole suite shares one client address; test/security.e2e-spec.ts runs apps with a limit.
      RATE_LIMIT_MAX: '0',
      // Webhook receivers in tests listen on this machine; test/webhooks.e2e-spec.ts checks the refusal without it.
      WEBHOOK_ALLOW_PRIVATE: 'true',
      ...overrides,
    },
    { envFile: false },
  );
}
