import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { LedgerIntegrator } from '../src/modules/ledger/ledger-integrator.service';
import { startTestApp, TestApp } from './helpers/app';
import { createAdmin, createUser, sql, TestUser } from './helpers/factories';
import { http, sharedBaseUrl } from './helpers/http';
import { WebhookReceiver } from './helpers/webhook-receiver';

const CHROMIUM = '/usr/bin/chromium';
const IMAGES = join(__dirname, '..', 'docs', 'images');
const available = existsSync(CHROMIUM);
if (!available) {
  if (process.env.CI === 'true')
    throw new Error(`${CHROMIUM} is missing: .ci/run installs it (apt-get install chromium)`);
  process.stdout.write(`Console browser test skipped: ${CHROMIUM} is not installed (apt-get install chromium).\n`);
}

const API = '/api/v1';

(available ? describe : describe.skip)('the console in a real browser', () => {
  let browser: Browser;
  /** An instance on the test database whose ledger integrator the test drives (the shared app's waits a minute). */
  let integrator: TestApp;
  const contexts: BrowserContext[] = [];
  /** CSP violations and script errors the page reported: none is expected. */
  const problems: string[] = [];

  /** A new page in a fresh context (its own storage), in `locale`. */
  const open = async (locale = 'en-US'): Promise<Page> => {
    const context = await browser.newContext({ locale, viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    // A refused request (a wrong password's 401) is the browser's own note, not the page's problem.
    page.on('console', (message) => {
      const text = message.text();
      if (
        message.type() === 'error' &&
        !/^Failed to load resource: the server responded with a status of 4\d\d/.test(text)
      ) {
        problems.push(text);
      }
    });
    page.on('pageerror', (error) => problems.push(error.message));
    return page;
  };

  const signIn = async (page: Page, user: TestUser) => {
    await page.goto(`${sharedBaseUrl()}/console/`);
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Activities' }).waitFor();
  };

  /** Axe's serious and critical findings on the page as it is now. */
  const violations = async (page: Page) =>
    (await new AxeBuilder({ page }).analyze()).violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);

  const record = (user: TestUser, body: Record<string, unknown>) =>
    http(`${API}/activities`, { method: 'POST', token: user.accessToken, body });

  beforeAll(async () => {
    integrator = await startTestApp();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
  });
  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await integrator?.close();
  });
  afterEach(() => {
    expect(problems.splice(0)).toEqual([]);
  });

  it('is served by Logbook at /console under a strict Content Security Policy, in well under 250 KB of script', async () => {
    const page = await http('/console/');
    expect(page.status).toBe(200);
    const csp = String(page.headers.get('content-security-policy'));
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    // No inline script, and nothing from another origin.
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.text).not.toMatch(/(src|href)="(https?:)?\/\//);
    const scripts = [...page.text.matchAll(/src="([^"]+\.js)"/g)].map((match) => match[1]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) {
      const answer = await http(script, { headers: { 'accept-encoding': 'identity' } });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('cache-control')).toContain('immutable');
    }
    const { gzipSync } = await import('node:zlib');
    const dist = join(__dirname, '..', 'dist', 'console');
    const gzipped = scripts.reduce(
      (sum, script) => sum + gzipSync(readFileSync(join(dist, script.replace('/console/', '')))).length,
      0,
    );
    expect(gzipped).toBeLessThan(250 * 1024);
    // Any path under /console is the console's page (its router takes it from there); a missing asset is a 404.
    expect((await http('/console/users')).text).toBe(page.text);
    expect((await http('/console/assets/missing.js')).status).toBe(404);
  });

  it('signs in with the keyboard alone, shows the API message for a wrong password, and signs out', async () => {
    const user = await createUser();
    const page = await open();
    await page.goto(`${sharedBaseUrl()}/console/`);
    expect(await violations(page)).toEqual([]);

    // The wrong password first: the API's own message.
    const refused = await http(`${API}/auth/login`, { method: 'POST', body: { email: user.email, password: 'wrong' } });
    await page.keyboard.press('Tab');
    await page.keyboard.type(user.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type('not the password');
    await page.keyboard.press('Enter');
    await expect(page.getByRole('alert').innerText()).resolves.toBe(refused.body.error.message);

    await page.getByLabel('Password').fill('');
    await page.getByLabel('Password').focus();
    await page.keyboard.type(user.password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Activities' }).waitFor();

    const session = JSON.parse(String(await page.evaluate('sessionStorage.getItem("logbook.session")')));
    expect(session.user.email).toBe(user.email);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate('sessionStorage.getItem("logbook.session")')).toBeNull();
    // The login ended at the API too: its refresh token no longer works.
    const refresh = await http(`${API}/auth/refresh`, { method: 'POST', body: { refreshToken: session.refreshToken } });
    expect(refresh.status).toBe(401);
  });

  it('shows a PARTICIPANT their own activities, without the ADMIN pages, and an ADMIN everyone’s', async () => {
    const participant = await createUser({ name: 'Pat Participant' });
    const other = await createUser();
    await record(participant, { action: 'OWN_ACTION' });
    await record(other, { action: 'SOMEONE_ELSES' });

    const page = await open();
    await signIn(page, participant);
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link').allInnerTexts()).toEqual(['Activities', 'Evidence', 'API keys']);
    await page.getByRole('cell', { name: 'OWN_ACTION' }).waitFor();
    expect(await page.getByRole('cell', { name: 'SOMEONE_ELSES' }).count()).toBe(0);
    expect(await violations(page)).toEqual([]);

    const admin = await createAdmin();
    const adminPage = await open();
    await signIn(adminPage, admin);
    expect(await adminPage.getByRole('navigation', { name: 'Main' }).getByRole('link').allInnerTexts()).toEqual([
      'Activities',
      'Audit log',
      'Evidence',
      'API keys',
      'Webhooks',
      'Users',
    ]);
    await adminPage.getByLabel('Action').fill('SOMEONE_ELSES');
    await adminPage.getByRole('button', { name: 'Apply' }).click();
    await adminPage.getByRole('cell', { name: 'SOMEONE_ELSES' }).first().waitFor();
  });

  it('reads page after page as one scrolls, filters, and charts the activities per day', async () => {
    const user = await createUser();
    const items = Array.from({ length: 120 }, (_, i) => ({
      action: i % 2 ? 'SCROLL_ODD' : 'SCROLL_EVEN',
      metadata: { i },
    }));
    expect(
      (await http(`${API}/activities/batch`, { method: 'POST', token: user.accessToken, body: { items } })).status,
    ).toBe(201);
    const page = await open();
    await signIn(page, user);
    const rows = page.locator('table.activities tbody tr');
    await page.getByText('120 activities', { exact: true }).waitFor();
    expect(await rows.count()).toBe(50);
    await page.locator('.sentinel').scrollIntoViewIfNeeded();
    await rows.nth(99).waitFor();
    await page.locator('.sentinel').scrollIntoViewIfNeeded();
    await rows.nth(119).waitFor();
    await page.getByText('That is all.').waitFor();

    // The chart: a canvas, and the same figures in words (today has all 120).
    expect(await page.locator('figure.chart canvas').count()).toBeGreaterThan(0);
    await page.getByText(/^120 activities from .* the busiest day, .*, had 120\.$/).waitFor({ state: 'attached' });

    await page.getByLabel('Action').fill('SCROLL_ODD');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('60 activities', { exact: true }).waitFor();
    expect(await rows.count()).toBe(50);
    expect(new Set(await page.locator('table.activities tbody tr td:nth-child(2)').allInnerTexts())).toEqual(
      new Set(['SCROLL_ODD']),
    );
  });

  it('opens an activity, changes its status, deletes and restores it, and exports the list', async () => {
    const user = await createUser();
    const created = (await record(user, { action: 'DETAILED', metadata: { course: 'Algebra', week: 3 } })).body.data;
    const page = await open();
    await signIn(page, user);
    await page.getByRole('button', { name: 'DETAILED' }).click();
    const dialog = page.getByRole('dialog', { name: /DETAILED/ });
    await dialog.waitFor();
    expect(JSON.parse(await dialog.locator('pre').nth(1).innerText())).toEqual({ course: 'Algebra', week: 3 });
    expect(await violations(page)).toEqual([]);

    await dialog.getByRole('button', { name: 'Mark In progress' }).click();
    await dialog.getByText('Saved.').waitFor();
    const read = () => http(`${API}/activities/${created.id}`, { token: user.accessToken });
    expect((await read()).body.data.status).toBe('IN_PROGRESS');
    // From IN_PROGRESS only DONE and FAILED remain.
    expect(await dialog.getByRole('button', { name: /^Mark / }).allInnerTexts()).toEqual(['Mark Done', 'Mark Failed']);

    page.once('dialog', (confirm) => void confirm.accept());
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await dialog.getByRole('button', { name: 'Restore' }).waitFor();
    expect((await read()).status).toBe(404);
    await dialog.getByRole('button', { name: 'Restore' }).click();
    await dialog.getByRole('button', { name: 'Delete' }).waitFor();
    expect((await read()).status).toBe(200);
    await dialog.getByRole('button', { name: 'Close' }).click();

    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const file = await downloading;
    expect(file.suggestedFilename()).toMatch(/^activities-.*\.csv$/);
    const csv = readFileSync(await file.path(), 'utf8');
    expect(csv).toContain('DETAILED');
    expect(csv).toContain(String(created.id));
  });

  it('shows Verified for a real record, checked in the browser, and not once the record is altered behind it', async () => {
    const user = await createUser();
    const created = (await record(user, { action: 'EVIDENCED', metadata: { grade: 'A' } })).body.data;
    await integrator.app.get(LedgerIntegrator).drain();
    const page = await open();
    await signIn(page, user);
    await page.getByRole('button', { name: 'EVIDENCED' }).click();
    const dialog = page.getByRole('dialog', { name: /EVIDENCED/ });
    await dialog.getByRole('button', { name: 'Verify' }).click();
    await dialog.getByText('Verified', { exact: true }).waitFor();

    await sql(`UPDATE activities SET metadata = '{"grade": "F"}' WHERE id = $1`, [created.id]);
    await dialog.getByRole('button', { name: 'Verify' }).click();
    await dialog.getByText('Not verified').waitFor();
    await dialog.getByText('The record no longer says what its leaf says.').waitFor();
    expect(await dialog.getByText('Verified', { exact: true }).count()).toBe(0);
    await dialog.getByRole('button', { name: 'Close' }).click();

    // The Evidence page: the latest checkpoint's signature checked here, and Verify by id.
    await page.getByRole('link', { name: 'Evidence' }).click();
    await page.getByText('Verified in this browser (Ed25519)').waitFor();
    expect(await violations(page)).toEqual([]);
    const other = (await record(user, { action: 'ALSO_EVIDENCED' })).body.data;
    await integrator.app.get(LedgerIntegrator).drain();
    await page.getByLabel('Id', { exact: true }).fill(String(other.id));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText('Verified', { exact: true }).waitFor();
    mkdirSync(IMAGES, { recursive: true });
    await page.screenshot({ path: join(IMAGES, 'console-evidence.png') });
  });

  it('lets a user create an API key (shown once) that records an activity, and revoke it', async () => {
    const user = await createUser();
    const page = await open();
    await signIn(page, user);
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    // A user who is not an ADMIN is not offered audit:read.
    expect(await page.getByLabel('audit:read').count()).toBe(0);
    await page.getByLabel('Name', { exact: true }).fill('billing service');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.locator('.secret code').innerText()).trim();
    expect(key).toMatch(/^lbk_[A-Za-z0-9_-]{43}$/);
    const recorded = await http(`${API}/activities`, {
      method: 'POST',
      headers: { 'x-api-key': key },
      body: { action: 'FROM_A_KEY' },
    });
    expect(recorded.status).toBe(201);
    expect(await violations(page)).toEqual([]);

    page.once('dialog', (confirm) => void confirm.accept());
    await page.getByRole('button', { name: 'Revoke billing service' }).click();
    await page.getByRole('button', { name: 'Revoke billing service' }).waitFor({ state: 'detached' });
    const refused = await http(`${API}/activities`, { headers: { 'x-api-key': key } });
    expect(refused.status).toBe(401);
  });

  it('gives an ADMIN the webhooks with their attempt log, the users, and the audit log with diffs', async () => {
    const admin = await createAdmin();
    const receiver = await WebhookReceiver.start();
    try {
      const page = await open();
      await signIn(page, admin);
      await page.getByRole('link', { name: 'Webhooks' }).click();
      await page.getByLabel('URL').fill(receiver.url);
      await page.getByLabel('webhook.test').check();
      await page.getByRole('button', { name: 'Create endpoint' }).click();
      expect(await page.locator('.secret code').innerText()).toMatch(/^whsec_/);
      await page.getByRole('button', { name: 'Send test' }).click();
      await receiver.until((received) => received.length >= 1);
      await page.getByRole('button', { name: 'Attempts' }).click();
      const log = page.locator('.entry table tbody tr');
      for (
        let i = 0;
        i < 20 &&
        !(
          await log
            .first()
            .innerText()
            .catch(() => '')
        ).includes('Succeeded');
        i += 1
      ) {
        await page.getByRole('button', { name: 'Refresh' }).click();
        await page.waitForTimeout(250);
      }
      expect(await log.first().innerText()).toContain('webhook.test');
      expect(await log.first().innerText()).toContain('Succeeded');
      expect(await violations(page)).toEqual([]);
      await page.getByRole('button', { name: 'Replay' }).click();
      await page.getByText(/^\d+ events queued again\.$/).waitFor();
      await page.getByRole('button', { name: 'Disable' }).click();
      await page.getByRole('cell', { name: 'Disabled' }).waitFor();
      page.once('dialog', (confirm) => void confirm.accept());
      await page.getByRole('button', { name: 'Delete' }).click();

      const someone = await createUser({ name: 'Robin Role' });
      await page.getByRole('link', { name: 'Users' }).click();
      await page.getByLabel('Email or name').fill(someone.email);
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.getByLabel('Role of Robin Role').selectOption('INSTRUCTOR');
      await page.getByText('Saved.').waitFor();
      expect((await http(`${API}/users/${someone.id}`, { token: admin.accessToken })).body.data.role).toBe(
        'INSTRUCTOR',
      );
      // Deleted, then found among the deleted users (read from the audit trail), and restored from there.
      page.once('dialog', (confirm) => void confirm.accept());
      await page.getByRole('button', { name: 'Delete Robin Role' }).click();
      const deleted = page.getByRole('region', { name: 'Deleted users' });
      await deleted.getByRole('cell', { name: someone.email }).waitFor();
      expect((await http(`${API}/users/${someone.id}`, { token: admin.accessToken })).status).toBe(404);
      expect(await violations(page)).toEqual([]);
      await deleted.getByRole('button', { name: 'Restore Robin Role' }).click();
      await deleted.getByRole('cell', { name: someone.email }).waitFor({ state: 'detached' });
      expect((await http(`${API}/users/${someone.id}`, { token: admin.accessToken })).status).toBe(200);

      // The whole ledger's check, for an ADMIN (this database has records altered by other tests: either answer).
      await page.getByRole('link', { name: 'Evidence' }).click();
      await page.getByRole('button', { name: 'Check every record, leaf and checkpoint' }).click();
      await page.getByText(/^The ledger (holds|has problems)\.$/).waitFor({ timeout: 60_000 });
      await page.getByText(/ leaves checked, tree size /).waitFor();
      expect(await violations(page)).toEqual([]);

      await page.getByRole('link', { name: 'Audit log' }).click();
      await page.getByLabel('Entity type').selectOption('User');
      await page.getByLabel('Entity id').fill(String(someone.id));
      await page.getByLabel('Action').selectOption('UPDATE');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page
        .getByRole('button', { name: /^Changes of entry/ })
        .first()
        .click();
      const diff = page.locator('table.diff tr.changed');
      await diff.first().waitFor();
      expect(await diff.first().innerText()).toMatch(/role\s+"PARTICIPANT"\s+"INSTRUCTOR"/);
      expect(await violations(page)).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it('renews the tokens with the refresh token before the access token runs out', async () => {
    const user = await createUser();
    const page = await open();
    await signIn(page, user);
    const before = JSON.parse(String(await page.evaluate('sessionStorage.getItem("logbook.session")')));
    // As if the access token had 30 s left: the next call renews it first (a minute ahead).
    await page.evaluate(
      `(() => { const s = JSON.parse(sessionStorage.getItem('logbook.session')); s.expiresAt = Date.now() + 30000;
        sessionStorage.setItem('logbook.session', JSON.stringify(s)); })()`,
    );
    // The page read again: its first calls renew the tokens before anything else.
    const renewing = page.waitForRequest((request) => request.url().endsWith('/api/v1/auth/refresh'));
    await page.reload();
    await renewing;
    await page.getByRole('heading', { name: 'Activities' }).waitFor();
    const stored = async () => JSON.parse(String(await page.evaluate('sessionStorage.getItem("logbook.session")')));
    // A new pair: the refresh token is new (an access token made within the same second as the last may read the
    // same), and it runs out a full term from now.
    for (let i = 0; i < 50 && (await stored()).refreshToken === before.refreshToken; i += 1) {
      await page.waitForTimeout(100);
    }
    const after = await stored();
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(after.expiresAt - Date.now()).toBeGreaterThan(60_000);
    // The new access token is good at the API.
    expect((await http(`${API}/auth/me`, { token: after.accessToken })).body.data.email).toBe(user.email);
  });

  it('speaks Thai and German to browsers that ask for them', async () => {
    const thai = await open('th-TH');
    await thai.goto(`${sharedBaseUrl()}/console/`);
    await thai.getByRole('button', { name: 'เข้าสู่ระบบ' }).waitFor();
    expect(await thai.getAttribute('html', 'lang')).toBe('th');
    const user = await createUser();
    await thai.getByLabel('อีเมล').fill(user.email);
    await thai.getByLabel('รหัสผ่าน').fill(user.password);
    await thai.getByRole('button', { name: 'เข้าสู่ระบบ' }).click();
    await thai.getByRole('heading', { name: 'กิจกรรม' }).waitFor();
    expect(await thai.getByRole('navigation').getByRole('link').allInnerTexts()).toEqual([
      'กิจกรรม',
      'หลักฐาน',
      'คีย์ API',
    ]);
    const german = await open('de-DE');
    await german.goto(`${sharedBaseUrl()}/console/`);
    await german.getByLabel('Passwort').waitFor();
    await german.getByRole('button', { name: 'Anmelden' }).waitFor();
  });

  it('shows the first page of activities within a second of signing in, and pictures it for the README', async () => {
    // Three people with the same history, so that each sign-in reads its first page afresh (lists are cached per
    // caller); the last one's page is pictured.
    const people = [
      await createUser({ name: 'Dana Demo' }),
      await createUser({ name: 'Dana Demo' }),
      await createUser({ name: 'Dana Demo' }),
    ];
    const actions = ['LOGIN', 'VIEW_COURSE', 'DOWNLOAD_FILE', 'SUBMIT_ASSIGNMENT', 'VIEW_LESSON'];
    const day = 86_400_000;
    // A few a day over two weeks, more on weekdays than at weekends.
    const perDay = [9, 7, 3, 2, 8, 10, 6, 9, 5, 2, 3, 7, 8, 6];
    const items = perDay.flatMap((count, daysAgo) =>
      Array.from({ length: count }, (_, i) => ({
        action: actions[(daysAgo + i) % actions.length],
        status: (daysAgo + i) % 7 === 0 ? 'FAILED' : (daysAgo + i) % 3 === 0 ? 'IN_PROGRESS' : 'DONE',
        target: { type: 'COURSE', name: `Course ${1 + ((daysAgo + i) % 4)}` },
        actor: { name: 'Dana Demo', email: 'dana@example.com' },
        timestamp: new Date(Date.now() - daysAgo * day - i * 37 * 60_000).toISOString(),
      })),
    );
    for (const person of people) {
      const batch = await http(`${API}/activities/batch`, {
        method: 'POST',
        token: person.accessToken,
        body: { items },
      });
      expect(batch.status).toBe(201);
    }
    // Three sign-ins, each in a fresh browser context; the median must be under a second (one slow run on a busy
    // machine does not decide it, three do). The time is the browser's own: from the form's submit event to the
    // frame that shows the first row, so the test driver's round trips to the browser are not counted in it.
    const times: number[] = [];
    let page!: Page;
    for (const person of people) {
      page = await open();
      await page.goto(`${sharedBaseUrl()}/console/`);
      await page.getByLabel('Email').fill(person.email);
      await page.getByLabel('Password').fill(person.password);
      // In the page (as a string: the test's own types know no DOM): the time from the form's submit event to the
      // frame after the first row appears.
      await page.evaluate(`(() => {
        window.firstPage = new Promise((resolve) => {
          document.addEventListener('submit', () => {
            const started = performance.now();
            const watcher = new MutationObserver(() => {
              if (!document.querySelector('table.activities tbody tr')) return;
              watcher.disconnect();
              requestAnimationFrame(() => resolve(performance.now() - started));
            });
            watcher.observe(document.body, { childList: true, subtree: true });
          }, { capture: true, once: true });
        });
      })()`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('table.activities tbody tr').first().waitFor();
      times.push(Math.round(Number(await page.evaluate('window.firstPage'))));
    }
    process.stdout.write(`console: first page of activities ${times.join(', ')} ms after Sign in\n`);
    expect([...times].sort((a, b) => a - b)[1]).toBeLessThan(1000);

    await page.locator('figure.chart canvas').first().waitFor();
    mkdirSync(IMAGES, { recursive: true });
    await page.screenshot({ path: join(IMAGES, 'console-activities.png') });
  });
});
