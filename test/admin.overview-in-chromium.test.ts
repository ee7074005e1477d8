// The admin overview in a real headless Chromium, over a day of seeded traffic with
// a failure spike: the charts are SVG with one slot per bucket, as many latency
// points as buckets with sends (counted from the attempts themselves), the spike's
// bar the tallest, labelled axes, a legend and a text alternative, and no console
// error (a CSP violation would be one). A bar drills down to its rows, which replay
// only after their count is confirmed; the replay shows on the row's timeline with
// who did it. The page reloads itself (meta refresh) keeping its filters, and the
// list can follow new rows. Screenshots go to test/.artifacts/ (not committed) or
// TEST_ARTIFACTS_DIR.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Db } from '../src/db/connect.ts';
import { buildServer, type Server } from '../src/http/server.ts';
import { createLogger } from '../src/logger.ts';
import { launchBrowser } from './support/browser.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { config as productConfig } from './support/mailroom.ts';
import { seedTries } from './support/traffic.ts';
import { bucketName } from '../src/admin/http/charts.tsx';

const TOKEN = 'chromium-overview-token-0123456789abcdef';
const ARTIFACTS = process.env.TEST_ARTIFACTS_DIR ?? fileURLToPath(new URL('./.artifacts/', import.meta.url));

let database: TestDatabase;
let db: Db;
let server: Server;
let base: string;
let browser: Browser;
/** The hour and the minute of the two spikes of failures. */
let spikeHour: Date;
let spikeMinute: Date;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  database = await createTestDatabase();
  db = connect(database.url, { max: 4, applicationName: 'mailroom-test-overview-ui' });
  // A day of traffic: every hour 30 sent and 2 retried; every minute of the last
  // hour 2 sent, one of them slow; and the two spikes of failures (300 five hours
  // ago, 40 twenty minutes ago).
  for (let h = 1; h <= 23; h++) {
    await seedTries(db.pool, { n: 30, minutesAgo: h * 60 + 7, latencyMs: (i) => 20 + i * 3 });
    await seedTries(db.pool, { n: 2, minutesAgo: h * 60 + 9, outcome: 'retry', message: () => '451 4.7.1 greylisted, try again later' });
  }
  for (let m = 1; m <= 58; m++) await seedTries(db.pool, { n: 2, minutesAgo: m, latencyMs: (i) => (i === 1 ? 900 : 40 + m) });
  spikeHour = (await seedTries(db.pool, { n: 300, minutesAgo: 5 * 60 + 30, outcome: 'failed', message: (i) => `550 5.1.1 <lost${i}@example.test>: no such user` })).minute;
  spikeMinute = (
    await seedTries(db.pool, { n: 40, minutesAgo: 20, outcome: 'failed', template: 'password-reset', message: (i) => `554 5.7.1 <spam${i}@example.test>: rejected as spam` })
  ).minute;
  spikeHour = new Date(Math.floor(spikeHour.getTime() / 3_600_000) * 3_600_000);

  server = buildServer({ config: productConfig, db, logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), adminToken: TOKEN });
  base = await server.listen({ port: 0, host: '127.0.0.1' });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await db?.close();
  await database?.drop();
});

/** A signed-in page that records console errors and uncaught exceptions. */
async function signedIn(): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto('/admin/login');
  await page.fill('input[name="token"]', TOKEN);
  await page.click('button[type="submit"]');
  await page.waitForURL((url) => url.pathname === '/admin');
  return { context, page, errors };
}

/** Distinct buckets (hours or minutes since `from`) holding attempts of this outcome, read from the attempts themselves. */
async function bucketsWith(outcome: string, grain: 'hour' | 'minute', from: Date): Promise<number> {
  const { rows } = await db.pool.query(
    `select count(distinct date_trunc($2, finished_at))::int as n from mailroom.delivery_attempt where outcome = $1 and finished_at >= $3`,
    [outcome, grain, from],
  );
  return rows[0].n;
}

/** Each bar's height summed per bucket, read from the rendered SVG. */
async function barHeights(page: Page, chart: string, series?: string) {
  return page.$$eval(
    `figure[data-chart="${chart}"] svg rect[data-series${series ? `="${series}"` : ''}]`,
    (rects) => {
      const by: Record<string, number> = {};
      for (const r of rects) {
        const bucket = r.getAttribute('data-bucket')!;
        by[bucket] = (by[bucket] ?? 0) + Number(r.getAttribute('height'));
      }
      return by;
    },
  );
}

const tallest = (heights: Record<string, number>) => Object.entries(heights).sort((a, b) => b[1] - a[1])[0]![0];

describe('the admin overview in Chromium', () => {
  it('draws 7 days by hour: 168 slots, a point per hour with sends, the spike tallest, labelled axes, no console error', async () => {
    const { context, page, errors } = await signedIn();
    try {
      await page.goto('/admin?window=week');
      const tries = page.locator('figure[data-chart="tries"] svg');
      expect(await tries.getAttribute('data-buckets')).toBe('168');
      expect(await tries.getAttribute('role')).toBe('img');
      const first = new Date(Date.now() - 167 * 3_600_000);
      first.setUTCMinutes(0, 0, 0);

      // Points: one p50 dot per hour that had a send, as the attempts say.
      const dots = await page.locator('figure[data-chart="latency"] g[data-series="p50"] circle').count();
      expect(dots).toBe(await bucketsWith('sent', 'hour', first));
      // Bars: one failed bar per hour with a failure; the spike's is the tallest, of the failed bars and of the stacks.
      const failed = await barHeights(page, 'tries', 'failed');
      expect(Object.keys(failed)).toHaveLength(await bucketsWith('failed', 'hour', first));
      expect(tallest(failed)).toBe(spikeHour.toISOString());
      expect(tallest(await barHeights(page, 'tries'))).toBe(spikeHour.toISOString());

      // Axes: day labels on x, numbers on y, both titled; a legend; a text alternative naming the spike.
      const xLabels = await page.locator('figure[data-chart="tries"] .x-tick text').allTextContents();
      expect(xLabels.length).toBeGreaterThanOrEqual(6);
      for (const label of xLabels) expect(label).toMatch(/^[A-Z][a-z]{2} \d{1,2}$/);
      const yLabels = await page.locator('figure[data-chart="tries"] .y-tick text').allTextContents();
      expect(yLabels[0]).toBe('0');
      expect(Number(yLabels.at(-1)!.replace(/,/g, ''))).toBeGreaterThanOrEqual(300);
      expect(await page.locator('figure[data-chart="tries"] .axis-title').allTextContents()).toEqual(['time (UTC)', 'tries per hour']);
      expect(await page.locator('figure[data-chart="tries"] [data-legend] text').allTextContents()).toEqual(['sent', 'retried', 'failed']);
      expect(await page.locator('figure[data-chart="latency"] .axis-title').allTextContents()).toEqual(['time (UTC)', 'ms (log scale)']);
      const desc = await page.locator('figure[data-chart="tries"] svg desc').textContent();
      expect(desc).toContain(`340 failed (most at ${bucketName(spikeHour, 3_600_000)}: 300)`);

      // Errors grouped: two patterns, with their counts, no address.
      const counts = await page.locator('table[data-testid="error-groups"] td[data-col="tries"]').allTextContents();
      const patterns = await page.locator('table[data-testid="error-groups"] td[data-col="pattern"]').allTextContents();
      const groups = counts.map((n, i) => `${n} ${patterns[i]}`);
      expect(groups).toEqual([
        '300 550 5.1.1 <address>: no such user (permanent)',
        '46 451 4.7.1 greylisted, try again later (permanent)',
        '40 554 5.7.1 <address>: rejected as spam (permanent)',
      ]);
      await page.screenshot({ path: `${ARTIFACTS}/overview-week.png`, fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('draws the last hour by minute, says so when a filter has nothing, and reloads itself keeping the filter', async () => {
    const { context, page, errors } = await signedIn();
    try {
      await page.goto('/admin');
      expect(await page.locator('figure[data-chart="tries"] svg').getAttribute('data-buckets')).toBe('60');
      const failed = await barHeights(page, 'tries', 'failed');
      expect(Object.keys(failed)).toEqual([spikeMinute.toISOString()]);
      expect(tallest(await barHeights(page, 'tries'))).toBe(spikeMinute.toISOString());
      const first = new Date(Date.now() - 59 * 60_000);
      first.setUTCSeconds(0, 0);
      expect(await page.locator('figure[data-chart="latency"] g[data-series="p99"] circle').count()).toBe(await bucketsWith('sent', 'minute', first));
      for (const label of await page.locator('figure[data-chart="tries"] .x-tick text').allTextContents()) expect(label).toMatch(/^\d\d:\d0$/);
      expect(await page.locator('meta[http-equiv="refresh"]').getAttribute('content')).toBe('30');
      await page.screenshot({ path: `${ARTIFACTS}/overview-hour.png`, fullPage: true });

      // A template with no traffic: the charts say so rather than draw flat lines.
      await page.selectOption('select[name="template"]', 'password-reset');
      await page.click('form.filters button[type="submit"]');
      await page.waitForURL(/template=password-reset/);
      expect(await page.locator('figure[data-chart="latency"] svg').count()).toBe(0);
      expect(await page.getByTestId('latency-empty').textContent()).toBe('Nothing sent in the last hour for password-reset: no latency to show.');
      // Pausing keeps the filter and drops the reload; resuming brings it back.
      await page.getByTestId('pause-refresh').click();
      await page.waitForURL(/refresh=off/);
      expect(new URL(page.url()).searchParams.get('template')).toBe('password-reset');
      expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(0);
      await page.getByTestId('resume-refresh').click();
      await page.waitForURL((url) => !url.search.includes('refresh=off'));
      expect(new URL(page.url()).searchParams.get('template')).toBe('password-reset');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('drills down from the spike to its rows, replays them after confirming the count, and the timeline says who', async () => {
    const { context, page, errors } = await signedIn();
    try {
      await page.goto('/admin');
      await page.locator(`figure[data-chart="tries"] rect[data-series="failed"][data-bucket="${spikeMinute.toISOString()}"]`).click();
      await page.waitForURL(/\/admin\/outbox\?/);
      const params = new URL(page.url()).searchParams;
      expect(Object.fromEntries(params)).toMatchObject({ outcome: 'failed', status: 'failed', tried_from: spikeMinute.toISOString() });
      expect(await page.locator('table[data-testid="outbox-rows"] tbody tr').count()).toBe(40);
      await page.getByText('Replay every row of this filter').click();
      expect(await page.getByTestId('bulk-count').textContent()).toMatch(/^40 rows would be replayed/);
      await page.click('form.actions button[type="submit"]');
      await page.waitForSelector('h1:has-text("40 of 40 row(s) replayed")');
      const { rows } = await db.pool.query(
        `select a.actor, count(*)::int as n from mailroom.operator_action a join mailroom.outbox o on o.id = a.outbox_id
          where o.template = 'password-reset' and a.action = 'replay' group by 1`,
      );
      expect(rows).toEqual([{ actor: 'admin (127.0.0.1)', n: 40 }]);

      await page.goto(`/admin/outbox?template=password-reset&status=pending`);
      await page.locator('table[data-testid="outbox-rows"] tbody tr a').first().click();
      const what = await page.locator('table[data-testid="timeline"] tbody td[data-col="what"]').allTextContents();
      expect(what).toEqual(['enqueued', 'attempt 1', 'replayed']);
      expect(await page.locator('table[data-testid="timeline"] tbody tr[data-kind="action"]').textContent()).toContain('by admin (127.0.0.1)');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('follows new rows: the list reloads itself with its filter and shows a row enqueued meanwhile', async () => {
    const { context, page, errors } = await signedIn();
    try {
      await page.goto('/admin/outbox?template=account-confirm&status=failed');
      await page.getByTestId('follow').click();
      await page.waitForURL(/follow=1/);
      expect(await page.locator('meta[http-equiv="refresh"]').getAttribute('content')).toBe('10');
      const { ids } = await seedTries(db.pool, { n: 1, minutesAgo: 0, outcome: 'failed', message: () => '550 gone' });
      await page.waitForSelector(`tr[data-id="${ids[0]}"]`, { timeout: 20_000 });
      const url = new URL(page.url());
      expect(Object.fromEntries(url.searchParams)).toEqual({ template: 'account-confirm', status: 'failed', follow: '1' });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
