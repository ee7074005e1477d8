// Provider events on the row (issue 14): emails sent for real through the worker and
// the Mailjet stub, then a Mailjet webhook batch about them (sent, bounces soft and
// hard, blocked, spam, unsub, open, click, as Mailjet documents the payloads), posted
// out of order and then replayed, grouped and one by one. Each event is stored once,
// matched to its row by CustomID or, without one, by Mailjet's MessageID; the row's
// timeline (`mailroom show` run as the CLI, and the admin row page in Chromium) shows
// enqueued, the attempt and each event once, in time order; the audit views and the
// metrics counter count each event once.
import { readFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../src/cli/commands/worker.ts';
import { connect, type Db } from '../src/db/connect.ts';
import { buildServer, type Server } from '../src/http/server.ts';
import { createLogger } from '../src/logger.ts';
import { createMetrics, type Metrics } from '../src/metrics/metrics.ts';
import { launchBrowser } from './support/browser.ts';
import { startMailjetStub, type MailjetStub } from './support/mailjet-stub.ts';
import { config, enqueueEmail } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { basicAuth } from './support/webhook-server.ts';
import { runCli, startInProcessWorker, waitUntil } from './support/worker.ts';

const SECRET = 'webhook-secret-0123456789';
const TOKEN = 'events-admin-token-0123456789abcdef';
const token = { token: 'token-0123456789abcdef' };

const s = useScenario();
let stub: MailjetStub;
let worker: RunningWorker;
let db: Db;
let metrics: Metrics;
let server: Server;
let base: string;

beforeAll(async () => {
  stub = await startMailjetStub();
  worker = await startInProcessWorker(
    s.env({ MAIL_TRANSPORT: 'mailjet', MAILJET_API_KEY: stub.apiKey, MAILJET_API_SECRET: stub.apiSecret, MAILJET_API_URL: stub.url }),
  );
  db = connect(s.database.url, { max: 3, applicationName: 'mailroom-test-events' });
  metrics = createMetrics({ processMetrics: false });
  server = buildServer({ config, db, logger: createLogger({ level: 'silent' }), metrics, mailjetWebhookSecret: SECRET, adminToken: TOKEN });
  base = await server.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await server?.close();
  await db?.close();
  await worker?.stop();
  await stub?.close();
});

/** POST /webhooks/mailjet with the right secret; a string goes as it is (MessageIDs above 2^53 stay exact). */
const post = (body: unknown) =>
  server.inject({
    method: 'POST',
    url: '/webhooks/mailjet',
    headers: { 'content-type': 'application/json', authorization: basicAuth(SECRET) },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** As Mailjet writes it: MessageID a bare JSON number, even above 2^53. */
const asMailjetJson = (events: Record<string, unknown>[]) =>
  `[${events.map((e) => JSON.stringify(e).replace(/"MessageID":"(\d+)"/, '"MessageID":$1')).join(',')}]`;

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

interface Sent {
  id: string;
  to: string;
  messageId: string;
  /** Whole seconds after the row was sent: when the events happen. */
  t: number;
}

const rows: Record<'ada' | 'bob' | 'cy' | 'dee', Sent> = {} as never;
let batch: Record<string, unknown>[];
const STRANGER_ROW = '7d8c1a2e-0000-4000-8000-0000000000aa';

describe('a Mailjet batch about emails sent through the worker, then its replays', () => {
  beforeAll(async () => {
    const enqueued = {
      ada: await enqueueEmail(s.pool, { template: 'account-confirm', to: 'ada@example.test', props: token }),
      bob: await enqueueEmail(s.pool, { template: 'account-confirm', to: 'bob@example.test', props: token }),
      cy: await enqueueEmail(s.pool, { template: 'account-confirm', to: 'cy@example.test', props: token }),
      dee: await enqueueEmail(s.pool, { template: 'account-notice', to: 'dee@example.test', props: { changedAt: new Date().toISOString() } }),
    };
    const sent = await waitUntil(
      async () => (await s.pool.query('select id, recipient, status, provider_message_id, sent_at from mailroom.outbox where id = any($1)', [Object.values(enqueued)])).rows,
      (r) => r.length === 4 && r.every((row) => row.status === 'sent'),
      30_000,
      'the four emails sent through the Mailjet stub',
    );
    for (const [name, id] of Object.entries(enqueued)) {
      const row = sent.find((r) => r.id === id)!;
      expect(row.provider_message_id).toMatch(/^\d{18}$/);
      rows[name as keyof typeof rows] = { id, to: row.recipient, messageId: row.provider_message_id, t: Math.ceil(row.sent_at.getTime() / 1000) + 1 };
    }
    const { ada, bob, cy, dee } = rows;
    const about = (r: Sent, event: string, after: number, extra: Record<string, unknown> = {}) => ({
      event, time: r.t + after, MessageID: r.messageId, Message_GUID: `guid-${r.messageId}`, email: r.to,
      mj_campaign_id: 0, mj_contact_id: 0, customcampaign: '', CustomID: r.id, Payload: '', ...extra,
    });
    // Out of time order on purpose: the timeline sorts.
    batch = [
      about(ada, 'unsub', 40, { mj_list_id: 1, ip: '127.0.0.1', geo: 'FR', agent: 'Mozilla/5.0' }),
      about(ada, 'click', 30, { url: 'https://app.example/confirm', ip: '127.0.0.1', geo: 'FR', agent: 'Mozilla/5.0' }),
      // No CustomID (Mailjet sends ""): matched by its MessageID.
      about(ada, 'open', 20, { CustomID: '', ip: '127.0.0.1', geo: 'FR', agent: 'Mozilla/5.0' }),
      about(ada, 'sent', 1, { mj_message_id: ada.messageId, smtp_reply: 'sent (250 2.0.0 OK 1795858000 - gsmtp)' }),
      about(bob, 'bounce', 50, { blocked: true, hard_bounce: true, error_related_to: 'recipient', error: 'user unknown' }),
      about(bob, 'bounce', 2, { blocked: false, hard_bounce: false, error_related_to: 'recipient', error: 'quota exceeded' }),
      about(cy, 'blocked', 1, { error_related_to: 'mailjet', error: 'preblocked' }),
      about(dee, 'spam', 60, { source: 'JMRPP' }),
      about(dee, 'sent', 1, { smtp_reply: 'sent (250 OK)' }),
      // About no row mailroom has: kept, matched to nothing.
      { ...about(ada, 'open', 25), CustomID: STRANGER_ROW, MessageID: '1', Message_GUID: 'guid-1', email: 'stranger@example.test' },
    ];
  });

  it('stores each event once: the batch, the same batch again, and its events one by one', async () => {
    const first = await post(asMailjetJson(batch));
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ stored: 10, duplicates: 0, suppressed: 2, notMailed: 0, optedOut: 0 });

    const again = await post(asMailjetJson(batch));
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ stored: 0, duplicates: 10, suppressed: 0, notMailed: 0, optedOut: 0 });
    // Mailjet's ungrouped callbacks: one event per request, keys in another order.
    for (const event of batch) {
      const one = await post(Object.fromEntries(Object.entries(event).reverse()));
      expect(one.json()).toMatchObject({ stored: 0, duplicates: 1 });
    }

    const { rows: stored } = await s.pool.query('select event, outbox_id, provider_message_id from mailroom.delivery_event order by id');
    expect(stored).toHaveLength(10);
    const { ada, bob, dee } = rows;
    // Matched by MessageID: the open that came without a CustomID.
    expect(stored.filter((e) => e.outbox_id === ada.id).map((e) => e.event).sort()).toEqual(['click', 'open', 'sent', 'unsub']);
    // An unknown CustomID is stored unmatched.
    expect(stored.filter((e) => e.outbox_id === null)).toEqual([{ event: 'open', outbox_id: null, provider_message_id: '1' }]);
    // Hard bounces and complaints still suppress; the soft bounce, the block and the unsub do not.
    const { rows: suppressed } = await s.pool.query('select address, reason from mailroom.suppression order by address');
    expect(suppressed).toEqual([
      { address: bob.to, reason: 'hard_bounce' },
      { address: dee.to, reason: 'complaint' },
    ]);
  });

  it('mailroom show prints the timeline: enqueued, the attempt, then each event once, in time order', async () => {
    const { ada, bob } = rows;
    const { code, output } = await runCli(['show', ada.id], s.env());
    expect(code, output).toBe(0);
    const timeline = output.slice(output.indexOf('timeline:\n') + 'timeline:\n'.length).split('\n').filter((l) => l.startsWith('  '));
    expect(timeline, output).toHaveLength(7);
    expect(timeline[0]).toMatch(/^ {2}enqueued +\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    expect(timeline[1]).toMatch(/^ {2}queued +\S+Z +claimed by the relay$/);
    expect(timeline[2]).toMatch(/^ {2}#1 +\S+Z +\d+ ms +mailjet sent 200 success/);
    expect(timeline[3]).toMatch(/^ {2}mailjet +\S+Z +sent +sent \(250 2\.0\.0 OK/);
    expect(timeline[4]).toMatch(/^ {2}mailjet +\S+Z +open\b/);
    expect(timeline[5]).toMatch(/^ {2}mailjet +\S+Z +click +https:\/\/app\.example\/confirm/);
    expect(timeline[6]).toMatch(/^ {2}mailjet +\S+Z +unsub\b/);
    const times = timeline.map((l) => Date.parse(/(\S+Z)/.exec(l)![1]!));
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    const json = JSON.parse((await runCli(['show', bob.id, '--json'], s.env())).output);
    expect(json.timeline.map((e: { kind: string; event?: string; hard?: boolean }) => (e.kind === 'event' ? `${e.event}${e.hard ? ' hard' : ''}` : e.kind))).toEqual([
      'enqueued', 'queued', 'attempt', 'bounce', 'bounce hard',
    ]);
    expect(json.timeline[2]).toMatchObject({ attempt: 1, transport: 'mailjet', outcome: 'sent', responseCode: 200 });
    expect(typeof json.timeline[2].durationMs).toBe('number');
    expect(json.timeline[3]).toMatchObject({ provider: 'mailjet', eventKind: 'bounced', hard: false, detail: 'recipient: quota exceeded' });
    expect(json.events).toHaveLength(2);
  });

  it('the admin row page shows the same timeline (in Chromium)', async () => {
    const { ada } = rows;
    let browser: Browser | undefined;
    try {
      browser = await launchBrowser();
      const context = await browser.newContext({ baseURL: base });
      context.setDefaultTimeout(30_000);
      const page = await context.newPage();
      await page.goto(`/admin/outbox/${ada.id}`);
      await page.waitForURL(/\/admin\/login/);
      await page.fill('input[name="token"]', TOKEN);
      await page.click('button[type="submit"]');
      await page.waitForURL(new RegExp(`/admin/outbox/${ada.id}$`));
      const entries = page.locator('table[data-testid="timeline"] tbody tr');
      const what = await entries.locator('td[data-col="what"]').allInnerTexts();
      expect(what).toEqual(['enqueued', 'queued', 'attempt 1', 'mailjet sent', 'mailjet open', 'mailjet click', 'mailjet unsub']);
      const times = (await entries.locator('td[data-col="at"]').allInnerTexts()).map((t) => Date.parse(t.replace(' ', 'T')));
      expect(times.every((t) => Number.isFinite(t))).toBe(true);
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      const attempt = await entries.nth(2).innerText();
      expect(attempt).toContain('mailjet');
      expect(attempt).toMatch(/\b200\b/);
      expect(attempt).toMatch(/\d+ ms/);
      // Each event also says what it means, in the words of the audit views.
      expect(await entries.nth(3).innerText()).toContain('delivered');
      expect(await entries.nth(5).innerText()).toContain('https://app.example/confirm');
      await context.close();
    } finally {
      await browser?.close();
    }
  });

  it('the audit views count each event once, per row and per template', async () => {
    const { ada, bob, cy, dee } = rows;
    const { rows: perRow } = await s.pool.query(
      `select id, status, last_outcome, last_transport, delivered, bounced, hard_bounced, blocked, complained, opened, clicked, unsubscribed, last_event
         from mailroom.deliveries where id = any($1)`,
      [[ada.id, bob.id, cy.id, dee.id]],
    );
    const byId = Object.fromEntries(perRow.map(({ id, ...r }) => [id, r]));
    const none = { delivered: 0, bounced: 0, hard_bounced: 0, blocked: 0, complained: 0, opened: 0, clicked: 0, unsubscribed: 0 };
    const sent = { status: 'sent', last_outcome: 'sent', last_transport: 'mailjet' };
    expect(byId[ada.id]).toEqual({ ...sent, ...none, delivered: 1, opened: 1, clicked: 1, unsubscribed: 1, last_event: 'unsubscribed' });
    expect(byId[bob.id]).toEqual({ ...sent, ...none, bounced: 2, hard_bounced: 1, last_event: 'bounced' });
    expect(byId[cy.id]).toEqual({ ...sent, ...none, blocked: 1, last_event: 'blocked' });
    expect(byId[dee.id]).toEqual({ ...sent, ...none, delivered: 1, complained: 1, last_event: 'complained' });

    const { rows: perTemplate } = await s.pool.query(
      `select template, sum(events)::int as events, sum(delivered)::int as delivered, sum(bounced)::int as bounced, sum(hard_bounced)::int as hard_bounced,
              sum(blocked)::int as blocked, sum(complained)::int as complained, sum(opened)::int as opened, sum(clicked)::int as clicked,
              sum(unsubscribed)::int as unsubscribed
         from mailroom.template_events group by template order by template nulls last`,
    );
    expect(perTemplate).toEqual([
      { template: 'account-confirm', events: 7, delivered: 1, bounced: 2, hard_bounced: 1, blocked: 1, complained: 0, opened: 1, clicked: 1, unsubscribed: 1 },
      { template: 'account-notice', events: 2, delivered: 1, bounced: 0, hard_bounced: 0, blocked: 0, complained: 1, opened: 0, clicked: 0, unsubscribed: 0 },
      { template: null, events: 1, delivered: 0, bounced: 0, hard_bounced: 0, blocked: 0, complained: 0, opened: 1, clicked: 0, unsubscribed: 0 },
    ]);

    const { rows: kinds } = await s.pool.query(
      `select kind, count(*)::int as n from mailroom.provider_events where outbox_id is not null group by kind order by kind`,
    );
    expect(kinds).toEqual([
      { kind: 'blocked', n: 1 }, { kind: 'bounced', n: 2 }, { kind: 'clicked', n: 1 }, { kind: 'complained', n: 1 },
      { kind: 'delivered', n: 2 }, { kind: 'opened', n: 1 }, { kind: 'unsubscribed', n: 1 },
    ]);
    // The views of before still answer as they did.
    expect((await s.pool.query('select count(*)::int as n from mailroom.failures')).rows[0].n).toBe(0);
    expect((await s.pool.query('select count(*)::int as n from mailroom.latency')).rows[0].n).toBe(4);
  });

  it('mailroom_provider_events_total counts each newly stored event once, by template and type', async () => {
    const text = (await server.inject({ method: 'GET', url: '/metrics' })).body;
    const count = (template: string, type: string) => sample(text, 'mailroom_provider_events_total', { template, type });
    expect(count('account-confirm', 'sent')).toBe(1);
    expect(count('account-confirm', 'open')).toBe(1);
    expect(count('account-confirm', 'click')).toBe(1);
    expect(count('account-confirm', 'unsub')).toBe(1);
    expect(count('account-confirm', 'bounce')).toBe(2);
    expect(count('account-confirm', 'blocked')).toBe(1);
    expect(count('account-notice', 'sent')).toBe(1);
    expect(count('account-notice', 'spam')).toBe(1);
    expect(count('(unmatched)', 'open')).toBe(1);
    expect(count('account-notice', 'open')).toBeUndefined();
  });

  it('every query of docs/auditing.md runs; the story of one email comes out in time order', async () => {
    const doc = await readFile(new URL('../docs/auditing.md', import.meta.url), 'utf8');
    const blocks = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const statements = blocks.flatMap((b) => b.split(/;\s*\n/).map((q) => q.trim()).filter(Boolean));
    expect(statements.length).toBeGreaterThanOrEqual(14);
    const PLACEHOLDER = '00000000-0000-4000-8000-000000000000';
    for (const statement of statements) {
      const { rows: result } = await s.pool.query(statement.replaceAll(PLACEHOLDER, rows.ada.id));
      if (statement.includes(PLACEHOLDER)) {
        expect(result.map((r) => r.what)).toEqual(['enqueued', 'attempt 1: mailjet sent', 'mailjet sent', 'mailjet open', 'mailjet click', 'mailjet unsub']);
      }
    }
    expect(doc).toContain(PLACEHOLDER);
  });
});
