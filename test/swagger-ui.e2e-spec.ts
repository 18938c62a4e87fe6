import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, Browser, Page } from 'playwright-core';
import { createActivity } from './helpers/activities';
import { createUser } from './helpers/factories';
import { http, sharedBaseUrl } from './helpers/http';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', 'test-artifacts');
const available = existsSync(CHROMIUM);
if (!available) {
  process.stdout.write(
    `Swagger UI browser test skipped: ${CHROMIUM} is not installed (apt-get install chromium); .ci/run installs it.\n`,
  );
}

/**
 * Opens the docs, authorizes with `credential` in the form of one security scheme (each has its own Authorize
 * button), and runs "List activities" through Try it out: answers the operation, its status and its body.
 */
async function listActivitiesAs(page: Page, scheme: 'bearer (http, Bearer)' | 'apiKey (apiKey)', credential: string) {
  await page.goto(`${sharedBaseUrl()}/docs`);
  await page.locator('.swagger-ui .info .title').filter({ hasText: 'Logbook API' }).waitFor();
  await page.locator('button.authorize').first().click();
  const form = page.locator('.modal-ux form').filter({ hasText: scheme });
  await form.locator('input[type=text]').fill(credential);
  await form.locator('button.authorize').click();
  await page.locator('.modal-ux button.btn-done').first().click();

  const operation = page.locator('#operations-Activities-ActivityLog_list');
  await operation.locator('.opblock-summary').click();
  await operation.locator('button.try-out__btn').click();
  await operation.locator('button.execute').click();
  const status = operation.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor();
  const body = await operation.locator('.live-responses-table .response-col_description pre').first().innerText();
  return { operation, status: (await status.innerText()).trim(), body: JSON.parse(body) };
}

(available ? describe : describe.skip)('Swagger UI in a real browser', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('authorizes with a token, runs "List activities" through Try it out, and keeps the authorization across a reload', async () => {
    const user = await createUser({ name: 'John Doe' });
    await createActivity(user, { action: 'LOGIN', metadata: { device: 'mobile' } });
    await createActivity(user, {
      action: 'DOWNLOAD_FILE',
      target: { type: 'FILE', id: '68ba5cdc', name: 'Course Material.pdf' },
      context: { description: 'Downloaded course material', source: 'WEB_APP' },
      metadata: { fileSize: '2.5MB' },
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    const { operation, status, body: listed } = await listActivitiesAs(page, 'bearer (http, Bearer)', user.accessToken);
    expect(status).toBe('200');
    expect(listed).toEqual(
      expect.objectContaining({ success: true, message: 'Success', meta: expect.objectContaining({ totalItems: 2 }) }),
    );
    expect(listed.data.map((activity: { action: string }) => activity.action)).toEqual(['DOWNLOAD_FILE', 'LOGIN']);
    const curl = await operation.locator('.curl-command').innerText();
    expect(curl).toContain(`Authorization: Bearer ${user.accessToken}`);

    mkdirSync(ARTIFACTS, { recursive: true });
    await operation.locator('.responses-wrapper').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'swagger-ui.png'), fullPage: false });

    await page.reload();
    await page.locator('.swagger-ui .info .title').waitFor();
    await expect(page.locator('button.authorize.locked').first().isVisible()).resolves.toBe(true);
    await page.close();
  });

  it('authorizes with an API key and runs "List activities" with it', async () => {
    const user = await createUser({ name: 'Key Holder' });
    await createActivity(user, { action: 'KEYED_LOGIN' });
    const created = await http('/api/v1/api-keys', {
      method: 'POST',
      token: user.accessToken,
      body: { name: 'swagger', scopes: ['activities:read'] },
    });
    expect(created.status).toBe(201);
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    const { operation, status, body } = await listActivitiesAs(page, 'apiKey (apiKey)', created.body.data.key);
    expect(status).toBe('200');
    expect(body.data.map((activity: { action: string }) => activity.action)).toEqual(['KEYED_LOGIN']);
    expect(await operation.locator('.curl-command').innerText()).toContain(`X-API-Key: ${created.body.data.key}`);
    await page.close();
  });
});
