// The admin pages in a real headless Chromium, against a real worker and SMTP sink:
// an operator signs in, filters the failed rows, opens one, replays it and sees it
// sent; replays a filter after confirming its count. Without a session a page sends
// to the sign-in form and a POST gets 401; a POST without the CSRF token gets 403;
// a prop holding HTML shows as text (in the page and in the email preview), tokens
// are masked, and filter values that look like SQL are only text.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Db } from '../src/db/connect.ts';
import { buildServer, type Server } from '../src/http/server.ts';
import { enqueueEmail } from './support/mailroom.ts';
import { createLogger } from '../src/logger.ts';
import { launchBrowser } from './support/browser.ts';
import { useScenario } from './support/scenario.ts';
import { waitUntil } from './support/worker.ts';
import { config as productConfig } from './support/mailroom.ts';

const TOKEN = 'chromium-admin-token-0123456789abcdef';
const SECRET = 'secret-token-0123456789abcdef';
const EVIL = '<img src=x onerror=alert(1)>';

const s = useScenario({ worker: true });
let db: Db;
let server: Server;
let base: string;
let browser: Browser;

beforeAll(async () => {
  db = connect(s.database.url, { max: 3, applicationName: 'mailroom-test-admin-ui' });
  server = buildServer({ config: productConfig, db, logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), adminToken: TOKEN, frontendBaseUrl: 'https://app.example' });
  base = await server.listen({ port: 0, host: '127.0.0.1' });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await db?.close();
});

const status = async (id: string) => (await s.pool.query('select status from mailroom.outbox where id = $1', [id])).rows[0]?.status;

/** Enqueue an email the sink refuses with 550, and wait for the worker to fail it. */
async function failedEmail(to: string, props: Record<string, string> = {}): Promise<string> {
  s.sink.respond(to, 550);
  const id = await enqueueEmail(s.pool, { template: 'account-confirm', to, props: { token: SECRET, ...props } });
  await waitUntil(() => status(id), (st) => st === 'failed', 20_000, `${to} failed`);
  return id;
}

/** A fresh browser context, watching for any dialog (an alert() would mean script ran). */
async function open(): Promise<{ context: BrowserContext; page: Page; dialogs: string[] }> {
  const context = await browser.newContext({ baseURL: base });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  const dialogs: string[] = [];
  page.on('dialog', async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  return { context, page, dialogs };
}

async function signIn(page: Page, path = '/admin'): Promise<void> {
  await page.goto(path);
  await page.waitForURL(/\/admin\/login/);
  await page.fill('input[name="token"]', TOKEN);
  await page.click('button[type="submit"]');
  await page.waitForURL((url) => !url.pathname.startsWith('/admin/login'));
}

describe('the admin pages in Chromium', () => {
  it('sign in, filter failed rows, open one, replay it, see it sent', async () => {
    const failedId = await failedEmail('rejected-once@example.test', { name: 'Grace' });
    const sentId = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'fine@example.test', props: { token: SECRET } });
    await waitUntil(() => status(sentId), (st) => st === 'sent', 20_000, 'the other row sent');

    const { context, page, dialogs } = await open();
    try {
      // Without a session the list sends to the sign-in form, and back after it.
      await page.goto('/admin/outbox');
      expect(new URL(page.url()).pathname).toBe('/admin/login');
      await page.fill('input[name="token"]', TOKEN);
      await page.click('button[type="submit"]');
      await page.waitForURL(/\/admin\/outbox$/);
      const cookies = await context.cookies();
      expect(cookies.find((c) => c.name === 'mailroom_admin')).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/admin' });
      expect(await page.locator(`tr[data-id="${sentId}"]`).count()).toBe(1);

      // Filter: failed rows only.
      await page.selectOption('select[name="status"]', 'failed');
      await page.click('form.filters button[type="submit"]');
      await page.waitForURL(/status=failed/);
      const statuses = await page.locator('table[data-testid="outbox-rows"] tbody tr .status').allInnerTexts();
      expect(statuses.length).toBeGreaterThan(0);
      expect(new Set(statuses)).toEqual(new Set(['failed']));
      expect(await page.locator(`tr[data-id="${sentId}"]`).count()).toBe(0);

      // Open it: its attempt, the 550, the masked token, the preview.
      await page.click(`tr[data-id="${failedId}"] a`);
      await page.waitForURL(new RegExp(`/admin/outbox/${failedId}$`));
      expect(await page.locator('[data-testid="row-status"]').innerText()).toBe('failed');
      expect(await page.locator('table[data-testid="attempts"]').innerText()).toContain('550');
      const props = await page.locator('[data-testid="props"]').innerText();
      expect(props).toContain('••••');
      expect(props).toContain('Grace');
      expect(await page.content()).not.toContain(SECRET);
      const preview = page.frameLocator('iframe.preview');
      await expect.poll(() => preview.locator('body').innerText(), { timeout: 30_000 }).toContain('Grace');
      const link = await preview.locator('a[data-role="primary-action"]').getAttribute('href');
      expect(link).toMatch(/^https:\/\/app\.example\//);
      expect(decodeURIComponent(link!)).toContain('••••');
      expect(link).not.toContain(SECRET);

      // Replay it once the sink accepts, and watch it become sent.
      s.sink.respond('rejected-once@example.test', 'accept');
      await page.click('form[action$="/replay"] button');
      await page.waitForURL(/notice=replayed/);
      expect(await page.locator('[data-testid="notice"]').innerText()).toContain('Replayed');
      await expect
        .poll(
          async () => {
            await page.reload();
            return page.locator('[data-testid="row-status"]').innerText();
          },
          { timeout: 30_000, interval: 250 },
        )
        .toBe('sent');
      expect(await page.locator('table[data-testid="attempts"] tbody tr').count()).toBe(2);
      // Sent: its token is scrubbed, so no "Send again" (it could not render); the preview still shows, masked.
      expect(await page.locator('form[action$="/replay"]').count()).toBe(0);
      await expect.poll(() => preview.locator('body').innerText(), { timeout: 30_000 }).toContain('Grace');
      expect(s.sink.messagesTo('rejected-once@example.test')).toHaveLength(1);
      expect(dialogs).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('replays every row of a filter after showing the count to confirm', async () => {
    const ids = [await failedEmail('bulk@example.test'), await failedEmail('bulk@example.test'), await failedEmail('bulk@example.test')];
    const { context, page } = await open();
    try {
      await signIn(page, '/admin/outbox?status=failed&recipient=bulk%40example.test');
      expect(await page.locator('table[data-testid="outbox-rows"] tbody tr').count()).toBe(3);
      await page.click('a[href*="/admin/outbox/bulk"][href*="action=replay"]');
      expect(await page.locator('[data-testid="bulk-count"]').innerText()).toContain('3 rows would be replayed');
      s.sink.respond('bulk@example.test', 'accept');
      await page.click('form[action="/admin/outbox/bulk"] button');
      expect(await page.locator('h1').innerText()).toContain('3 of 3 row(s) replayed');
      for (const id of ids) await waitUntil(() => status(id), (st) => st === 'sent', 20_000, `${id} sent after the bulk replay`);
    } finally {
      await context.close();
    }
  });

  it('shows a prop holding HTML as text, in the page and in the preview; no script runs', async () => {
    const id = await failedEmail('html-name@example.test', { name: EVIL });
    const { context, page, dialogs } = await open();
    try {
      await signIn(page, `/admin/outbox/${id}`);
      expect(await page.locator('[data-testid="props"]').innerText()).toContain(EVIL);
      expect(await page.locator('main img').count()).toBe(0);
      expect(await page.content()).toContain('&lt;img src=x onerror=alert(1)&gt;');
      // The subject carries the name too.
      const preview = page.frameLocator('iframe.preview');
      await expect.poll(() => preview.locator('body').innerText(), { timeout: 30_000 }).toContain(EVIL);
      expect(await preview.locator('img[src="x"]').count()).toBe(0);
      // The list shows it as text as well (it is only in props, but the recipient column is escaped the same way).
      await page.goto('/admin/outbox?recipient=html-name%40example.test');
      expect(await page.locator(`tr[data-id="${id}"]`).count()).toBe(1);
      expect(dialogs).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('treats filter values that look like SQL as text', async () => {
    const { context, page } = await open();
    try {
      await signIn(page, '/admin/outbox');
      const injection = "' or 1=1; drop table mailroom.outbox; --";
      await page.fill('input[name="recipient"]', injection);
      await page.click('form.filters button[type="submit"]');
      await page.waitForURL(/recipient=/);
      expect(await page.locator('[data-testid="no-rows"]').count()).toBe(1);
      expect(await page.inputValue('input[name="recipient"]')).toBe(injection);
      await page.goto(`/admin/outbox?template=${encodeURIComponent("account-confirm' or '1'='1")}`);
      expect(await page.locator('[data-testid="no-rows"]').count()).toBe(1);
      // A status must be one of the known ones: anything else is refused, and shown as text.
      const response = await page.goto(`/admin/outbox?status=${encodeURIComponent("failed' or 1=1 --")}`);
      expect(response!.status()).toBe(400);
      expect(await page.locator('main').innerText()).toContain("\"failed' or 1=1 --\" is not one of");
      // The table is still there, every row in it.
      const { rows } = await s.pool.query('select count(*)::int as n from mailroom.outbox');
      expect(rows[0].n).toBeGreaterThan(0);
    } finally {
      await context.close();
    }
  });

  it('without a session: pages send to the sign-in form, POSTs get 401', async () => {
    const { context, page } = await open();
    try {
      for (const path of ['/admin', '/admin/outbox?status=failed', '/admin/suppression']) {
        await page.goto(path);
        expect(new URL(page.url()).pathname, path).toBe('/admin/login');
      }
      const post = await context.request.post('/admin/outbox/bulk', { form: { action: 'replay', status: 'failed', expected: '1' }, maxRedirects: 0 });
      expect(post.status()).toBe(401);
    } finally {
      await context.close();
    }
  });

  it('refuses a signed-in POST without the CSRF token with 403, and changes nothing', async () => {
    const id = await failedEmail('csrf-check@example.test');
    const { context, page } = await open();
    try {
      await signIn(page);
      s.sink.respond('csrf-check@example.test', 'accept');
      // The browser's cookie goes along (same context); the form's _csrf does not.
      const withoutToken = await context.request.post(`/admin/outbox/${id}/replay`, { form: { resend: 'false' }, maxRedirects: 0 });
      expect(withoutToken.status()).toBe(403);
      const wrongToken = await context.request.post(`/admin/outbox/${id}/replay`, { form: { _csrf: 'forged' }, maxRedirects: 0 });
      expect(wrongToken.status()).toBe(403);
      expect(await status(id)).toBe('failed');
      // The page's own form carries it and works.
      await page.goto(`/admin/outbox/${id}`);
      await page.click('form[action$="/replay"] button');
      await page.waitForURL(/notice=replayed/);
      await waitUntil(() => status(id), (st) => st === 'sent', 20_000, 'sent after the replay');
    } finally {
      await context.close();
    }
  });
});
