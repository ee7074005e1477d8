// One-click unsubscribe (issue 14, RFC 8058 and RFC 2369), end to end: the link taken
// from a delivered digest at a real SMTP server, POSTed as a mail client does; the
// next digest to that address ends `suppressed`, a password reset still goes out; a
// tampered or foreign-category link is refused; GET changes nothing until the
// button is pressed, in headless Chromium.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Db } from '../src/db/connect.ts';
import { buildServer, type Server } from '../src/http/server.ts';
import { createLogger } from '../src/logger.ts';
import { loadConfig } from '../src/cli/env.ts';
import { readUnsubscribeToken, unsubscribeUrl } from '../src/unsubscribe/link.ts';
import { startWorker } from '../src/worker/start-worker.ts';
import { createCaptureTransport } from '../src/transports/capture.ts';
import { launchBrowser } from './support/browser.ts';
import { config, enqueueEmail } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { signInAdmin } from './support/admin.ts';
import { runCli, startInProcessWorker, TEST_UNSUBSCRIBE, waitUntil } from './support/worker.ts';
import type { RunningWorker } from '../src/cli/commands/worker.ts';

const s = useScenario();
const WEBHOOK_SECRET = 'webhook-secret-for-the-unsubscribe-test';
const ADMIN_TOKEN = 'admin-token-for-the-unsubscribe-test-0123';
let db: Db;
let server: Server;
let base: string;
let worker: RunningWorker;

beforeAll(async () => {
  db = connect(s.database.url, { max: 3, applicationName: 'mailroom-test-unsubscribe' });
  server = buildServer({ config, db, logger: createLogger({ level: 'silent' }), unsubscribeSecret: TEST_UNSUBSCRIBE.secret, mailjetWebhookSecret: WEBHOOK_SECRET, adminToken: ADMIN_TOKEN });
  base = await server.listen({ port: 0, host: '127.0.0.1' });
  // The worker's links point at this server (as UNSUBSCRIBE_BASE_URL would, at `mailroom serve`).
  worker = await startInProcessWorker(s.env({ UNSUBSCRIBE_BASE_URL: base.replace('127.0.0.1', 'localhost') }));
});
afterAll(async () => {
  await worker?.stop();
  await server?.close();
  await db?.close();
});

const TERMINAL = ['sent', 'failed', 'suppressed', 'expired', 'cancelled'];
async function delivered(id: string) {
  return waitUntil(async () => (await s.pool.query('select status, last_error from mailroom.outbox where id = $1', [id])).rows[0], (r) => TERMINAL.includes(r?.status));
}
const digest = (to: string) => enqueueEmail(s.pool, { template: 'weekly-digest', to, props: { items: ['Ada posted'] } });
const optOuts = async () => (await s.pool.query('select address, category, source from mailroom.opt_out order by address, category')).rows;
const local = (url: string) => url.replace(/^http:\/\/localhost:/, 'http://127.0.0.1:');

describe('a delivered digest', () => {
  let link: string;

  it('carries List-Unsubscribe and List-Unsubscribe-Post, and the same link in its body; an account email carries neither', async () => {
    const digestId = await digest('ada@example.test');
    const confirmId = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'ada@example.test', props: { token: 'unsubscribe-test-0123456789' } });
    expect((await delivered(digestId)).status).toBe('sent');
    expect((await delivered(confirmId)).status).toBe('sent');
    const [digestMail, confirmMail] = [
      s.sink.messagesTo('ada@example.test').find((m) => m.headers.get('x-mailroom-template') === 'weekly-digest')!,
      s.sink.messagesTo('ada@example.test').find((m) => m.headers.get('x-mailroom-template') === 'account-confirm')!,
    ];
    // The header is folded (it is longer than a line): unfold it as any reader would.
    const header = /^List-Unsubscribe:\s+<([^>]+)>\r?$/m.exec(digestMail.raw)?.[1];
    expect(digestMail.headers.get('list')).toEqual({ unsubscribe: { url: header }, 'unsubscribe-post': { name: 'List-Unsubscribe=One-Click' } });
    expect(header).toMatch(/^http:\/\/localhost:\d+\/unsubscribe\/digest\/v1\.[A-Za-z0-9_-]+$/);
    expect(digestMail.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
    expect(digestMail.html).toContain(`href="${header}"`);
    expect(digestMail.text).toContain(header);
    // The token is sealed: the address cannot be read out of the URL.
    expect(header).not.toMatch(/ada/i);
    expect(Buffer.from(header!.split('/').pop()!.slice(3), 'base64url').toString('latin1')).not.toContain('ada');
    expect(confirmMail.headers.has('list')).toBe(false);
    expect(confirmMail.raw).not.toMatch(/^List-Unsubscribe/im);
    link = header!;
  });

  it('GET shows the button and changes nothing; POST as a mail client sends it records the opt-out', async () => {
    const page = await fetch(local(link));
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<button type="submit">Unsubscribe</button>');
    expect(html).toContain('a***@example.test');
    expect(html).not.toContain('ada@example.test');
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await optOuts()).toEqual([]);

    // RFC 8058: the client POSTs "List-Unsubscribe=One-Click", no cookie, no login.
    const post = await fetch(local(link), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    expect(post.status).toBe(200);
    expect(await post.text()).toContain('gets no more digest emails');
    expect(await optOuts()).toEqual([{ address: 'ada@example.test', category: 'digest', source: 'link' }]);
    // Again: nothing more (idempotent).
    expect((await fetch(local(link), { method: 'POST', body: 'List-Unsubscribe=One-Click' })).status).toBe(200);
    expect(await optOuts()).toHaveLength(1);
  });

  it('the next digest to that address (in any case) ends suppressed with the reason; a password reset still goes out', async () => {
    const before = s.sink.messagesTo('ada@example.test').length;
    const nextDigest = await digest('Ada@EXAMPLE.test');
    const reset = await enqueueEmail(s.pool, { template: 'account-reset', to: 'ada@example.test', props: { token: 'unsubscribe-reset-0123456789', expiresAt: new Date(Date.now() + 3600_000).toISOString() } as never });
    expect(await delivered(nextDigest)).toEqual({ status: 'suppressed', last_error: 'recipient unsubscribed from digest' });
    expect((await delivered(reset)).status).toBe('sent');
    const after = s.sink.messagesTo('ada@example.test').slice(before);
    expect(after.map((m) => m.headers.get('x-mailroom-template'))).toEqual(['account-reset']);
    // Another address still gets its digest.
    expect((await delivered(await digest('grace@example.test'))).status).toBe('sent');
  });

  it('refuses a tampered link, a link moved to another category, and one sealed with another secret, writing nothing', async () => {
    const count = (await optOuts()).length;
    const token = link.split('/').pop()!;
    const flipped = `${token.slice(0, -3)}${token.at(-3) === 'A' ? 'B' : 'A'}${token.slice(-2)}`;
    const other = unsubscribeUrl({ baseUrl: base, secret: 'another-secret-of-at-least-32-characters' }, 'bob@example.test', 'digest');
    for (const url of [`${base}/unsubscribe/digest/${flipped}`, `${base}/unsubscribe/alerts/${token}`, other, `${base}/unsubscribe/digest/v1.`, `${base}/unsubscribe/digest/v1.${'A'.repeat(990)}`]) {
      for (const method of ['GET', 'POST']) {
        const response = await fetch(url, { method, ...(method === 'POST' ? { body: 'List-Unsubscribe=One-Click' } : {}) });
        expect(response.status, `${method} ${url.slice(0, 100)}`).toBe(400);
        expect(await response.text()).toContain('not valid');
      }
    }
    expect(await optOuts()).toHaveLength(count);
    expect(readUnsubscribeToken(TEST_UNSUBSCRIBE.secret, 'digest', token)).toBe('ada@example.test');
    // The longest address makes a link every route still takes.
    const longest = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(56)}.test`;
    expect(longest.length).toBe(254);
    const response = await fetch(unsubscribeUrl({ baseUrl: base, secret: TEST_UNSUBSCRIBE.secret }, longest, 'digest'));
    expect(response.status).toBe(200);
  });
});

describe("a Mailjet unsub event", () => {
  const unsub = (outboxId: string, email: string, time: number) =>
    fetch(`${base}/webhooks/mailjet`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`mailjet:${WEBHOOK_SECRET}`).toString('base64')}` },
      body: JSON.stringify([{ event: 'unsub', time, MessageID: 19421777396190490 + time, Message_GUID: `guid-${time}`, email, mj_campaign_id: 1, mj_contact_id: 2, customcampaign: '', CustomID: outboxId, Payload: '', mj_list_id: 3, ip: '127.0.0.1', geo: 'FR', agent: 'Mozilla/5.0' }]),
    });

  it("lands in the same opt-out as the link: the row's category for its address, once; an unsub about an essential email opts out of nothing", async () => {
    const digestId = await digest('carol@example.test');
    const confirmId = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'dan@example.test', props: { token: 'unsubscribe-event-0123456789' } });
    await delivered(digestId);
    await delivered(confirmId);
    expect((await unsub(digestId, 'carol@example.test', 1_790_000_000)).status).toBe(200);
    expect((await unsub(digestId, 'carol@example.test', 1_790_000_000)).status).toBe(200); // a replay
    expect((await unsub(confirmId, 'dan@example.test', 1_790_000_001)).status).toBe(200);
    const rows = (await optOuts()).filter((o) => ['carol@example.test', 'dan@example.test'].includes(o.address));
    expect(rows).toEqual([{ address: 'carol@example.test', category: 'digest', source: 'provider' }]);
    expect((await delivered(await digest('carol@example.test'))).last_error).toBe('recipient unsubscribed from digest');
  });
});

describe('opt-outs by hand', () => {
  it('the CLI adds, lists and removes them, naming bad input', async () => {
    const env = s.env();
    expect(await runCli(['opt-out', 'add', 'Eve@Example.test', '--category', 'digest'], env)).toMatchObject({ code: 0, output: 'eve@example.test opted out of digest\n' });
    const listed = await runCli(['opt-out', 'list', '--address', 'eve@example.test', '--json'], env);
    expect(JSON.parse(listed.output)).toEqual([expect.objectContaining({ address: 'eve@example.test', category: 'digest', source: 'cli' })]);
    expect((await delivered(await digest('eve@example.test'))).status).toBe('suppressed');
    for (const [args, message] of [
      [['opt-out', 'add', 'not-an-address', '--category', 'digest'], /address: .*is not an email address/],
      [['opt-out', 'add', 'eve@example.test', '--category', 'Digests!'], /--category: must name a category/],
      [['opt-out', 'add', 'eve@example.test'], /--category/],
      [['opt-out', 'remove', 'nobody@example.test'], /nobody@example\.test has no opt-out/],
    ] as const) {
      const run = await runCli([...args], env);
      expect(run.code, args.join(' ')).not.toBe(0);
      expect(run.output).toMatch(message);
    }
    expect(await runCli(['opt-out', 'remove', 'eve@example.test'], env)).toMatchObject({ code: 0, output: 'removed 1 opt-out of eve@example.test\n' });
    expect((await delivered(await digest('eve@example.test'))).status).toBe('sent');
  });

  it('the admin pages list them and remove one, with the CSRF token', async () => {
    await s.pool.query(`insert into mailroom.opt_out (address, category, source) values ('frank@example.test', 'digest', 'link')`);
    const admin = await signInAdmin(server, ADMIN_TOKEN);
    const list = await admin.get('/admin/opt-outs?q=frank@example.test');
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain('<td>frank@example.test</td><td>digest</td><td>link</td>');
    expect((await admin.post('/admin/opt-outs/remove', { address: 'frank@example.test', category: 'digest' }, { csrf: false })).statusCode).toBe(403);
    const removed = await admin.post('/admin/opt-outs/remove', { address: 'frank@example.test', category: 'digest' });
    expect(removed.statusCode).toBe(303);
    expect((await optOuts()).map((o) => o.address)).not.toContain('frank@example.test');
  });
});

describe('in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => (browser = await launchBrowser()));
  afterAll(async () => browser?.close());

  it('opening the link changes nothing; pressing the button unsubscribes; the page runs no script and breaks no CSP rule', async () => {
    const link = unsubscribeUrl({ baseUrl: base, secret: TEST_UNSUBSCRIBE.secret }, 'bob@example.test', 'digest');
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => problems.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => problems.push(error.message));
    try {
      await page.goto(link);
      expect(await page.textContent('h1')).toBe('Unsubscribe?');
      expect((await optOuts()).map((o) => o.address)).not.toContain('bob@example.test');
      await page.click('button[type="submit"]');
      await page.waitForSelector('text=gets no more digest emails');
      expect(await page.textContent('h1')).toBe('Unsubscribed');
      expect(await optOuts()).toContainEqual({ address: 'bob@example.test', category: 'digest', source: 'link' });
      // Opened again: it says so instead of offering the button.
      await page.goto(link);
      expect(await page.textContent('h1')).toBe('Already unsubscribed');
      await page.screenshot({ path: `${process.env.TEST_ARTIFACTS_DIR ?? '/tmp'}/unsubscribe-confirmation.png` });
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

describe('settings', () => {
  it('a worker whose config has unsubscribe links refuses to start without them, naming both variables', async () => {
    const transport = createCaptureTransport({ dir: '/tmp/mailroom-unsubscribe-test' });
    await expect(startWorker({ config, databaseUrl: s.database.url, transport, logger: createLogger({ level: 'silent' }) })).rejects.toThrow(
      /template "weekly-digest" has unsubscribe links: give unsubscribe: \{ baseUrl, secret \} \(UNSUBSCRIBE_BASE_URL and UNSUBSCRIBE_SECRET\)/,
    );
  });

  it('names the variable of a bad or missing value', () => {
    expect(() => loadConfig({ UNSUBSCRIBE_BASE_URL: 'https://mail.example.com' })).toThrow(/UNSUBSCRIBE_SECRET is required with UNSUBSCRIBE_BASE_URL/);
    expect(() => loadConfig({ UNSUBSCRIBE_SECRET: 'x'.repeat(40) })).toThrow(/UNSUBSCRIBE_BASE_URL is required with UNSUBSCRIBE_SECRET/);
    expect(() => loadConfig({ UNSUBSCRIBE_BASE_URL: 'https://mail.example.com', UNSUBSCRIBE_SECRET: 'short' })).toThrow(/UNSUBSCRIBE_SECRET must be at least 32 characters/);
    expect(() => loadConfig({ UNSUBSCRIBE_BASE_URL: 'http://mail.example.com', UNSUBSCRIBE_SECRET: 'x'.repeat(40) })).toThrow(/UNSUBSCRIBE_BASE_URL must be an https:\/\/ URL/);
    expect(loadConfig({ UNSUBSCRIBE_BASE_URL: 'http://localhost:3000', UNSUBSCRIBE_SECRET: 'x'.repeat(40) }).UNSUBSCRIBE_SECRET).toHaveLength(40);
  });
});
