// A template's envelope (issue 14): From from the config's senders, Reply-To, extra
// X- headers and tags, as they arrive at a real SMTP server and at the Mailjet stub;
// and the declarations a careful team would want refused at start-up.
import { createElement } from 'react';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createMailroom, defineConfig, defineTemplate, DefinitionError } from 'mailroom';
import { migrate } from 'mailroom/migrate';
import { mailjetTransport, smtpTransport } from 'mailroom/transports';
import { createLogger, startWorker, type RunningWorker } from 'mailroom/worker';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { startMailjetStub, type MailjetStub } from './support/mailjet-stub.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';
import { waitUntil } from './support/worker.ts';

const Hello = ({ name }: { name: string }) => createElement('p', null, `Hello ${name}`);
const schema = z.object({ name: z.string() });
const base = { schema, subject: ({ name }: { name: string }) => `Hi ${name}`, component: Hello, previewProps: { name: 'Ada' } };

const config = defineConfig({
  senders: ['Circles Team <team@circles.example>', 'security@circles.example'],
  templates: {
    'team-welcome': defineTemplate({
      ...base,
      envelope: {
        from: 'Circles Team <team@circles.example>',
        replyTo: 'Circles Support <support@circles.example>',
        headers: { 'X-Entity-Ref-ID': 'welcome-1', 'X-Campaign-Kind': 'onboarding' },
        tags: ['onboarding', 'team'],
      },
    }),
    'security-notice': defineTemplate({ ...base, envelope: { from: 'security@circles.example' } }),
    'plain-notice': defineTemplate(base),
  },
});
const mail = createMailroom(config);

let database: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  database = await createTestDatabase();
  await migrate({ databaseUrl: database.url, config, appMigrations: false });
  pool = new pg.Pool({ connectionString: database.url, max: 3 });
});
afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

async function sendAll(worker: RunningWorker, recipient: (template: string) => string) {
  const ids: string[] = [];
  for (const template of ['team-welcome', 'security-notice', 'plain-notice'] as const) {
    ids.push(await mail.enqueue(pool, { template, to: recipient(template), props: { name: 'Ada' } }));
  }
  try {
    await waitUntil(async () => (await pool.query(`select count(*)::int as n from mailroom.outbox where id = any($1) and status = 'sent'`, [ids])).rows[0].n, (n) => n === 3);
  } finally {
    await worker.stop();
  }
}

describe('through SMTP', () => {
  let sink: SmtpSink;
  beforeAll(async () => (sink = await startSmtpSink()));
  afterAll(async () => sink?.close());

  it('carries each template\'s From, Reply-To, X- headers and tags; a template without an envelope gets the worker\'s From only', async () => {
    const worker = await startWorker({ config, databaseUrl: database.url, transport: smtpTransport({ url: sink.url }), from: 'Fallback <no-reply@circles.example>', relay: { pollMs: 20 }, logger: createLogger({ level: 'silent' }) });
    await sendAll(worker, (t) => `${t}@smtp.example`);
    const [welcome] = sink.messagesTo('team-welcome@smtp.example');
    expect(welcome!.parsed.from?.value).toEqual([{ name: 'Circles Team', address: 'team@circles.example' }]);
    expect(welcome!.from).toBe('team@circles.example');
    expect(welcome!.parsed.replyTo?.value).toEqual([{ name: 'Circles Support', address: 'support@circles.example' }]);
    expect(welcome!.headers.get('x-entity-ref-id')).toBe('welcome-1');
    expect(welcome!.headers.get('x-campaign-kind')).toBe('onboarding');
    expect(welcome!.headers.get('x-mailroom-tags')).toBe('onboarding, team');
    expect(welcome!.headers.get('x-mailroom-template')).toBe('team-welcome');

    const [security] = sink.messagesTo('security-notice@smtp.example');
    expect(security!.parsed.from?.value).toEqual([{ name: '', address: 'security@circles.example' }]);
    expect(security!.headers.has('reply-to')).toBe(false);

    const [plain] = sink.messagesTo('plain-notice@smtp.example');
    expect(plain!.parsed.from?.value).toEqual([{ name: 'Fallback', address: 'no-reply@circles.example' }]);
    expect(plain!.headers.has('reply-to')).toBe(false);
    expect(plain!.headers.has('x-mailroom-tags')).toBe(false);
    expect(plain!.headers.get('x-mailroom-template')).toBe('plain-notice');
  });
});

describe('through Mailjet', () => {
  let stub: MailjetStub;
  beforeAll(async () => (stub = await startMailjetStub()));
  afterAll(async () => stub?.close());

  it('sends the same fields in the Send API v3.1 message: From, ReplyTo, Headers, and the tags in EventPayload for the events', async () => {
    const transport = mailjetTransport({ apiKey: stub.apiKey, apiSecret: stub.apiSecret, apiUrl: stub.url });
    const worker = await startWorker({ config, databaseUrl: database.url, transport, from: 'Fallback <no-reply@circles.example>', relay: { pollMs: 20 }, logger: createLogger({ level: 'silent' }) });
    await sendAll(worker, (t) => `${t}@mailjet.example`);
    const message = (to: string) => stub.requests.map((r) => r.body.Messages[0]!).find((m) => m.To[0]!.Email === to)! as Record<string, any>;

    const welcome = message('team-welcome@mailjet.example');
    expect(welcome.From).toEqual({ Email: 'team@circles.example', Name: 'Circles Team' });
    expect(welcome.ReplyTo).toEqual({ Email: 'support@circles.example', Name: 'Circles Support' });
    expect(welcome.Headers).toMatchObject({ 'X-Entity-Ref-ID': 'welcome-1', 'X-Campaign-Kind': 'onboarding' });
    expect(JSON.parse(welcome.EventPayload)).toEqual({ template: 'team-welcome', tags: ['onboarding', 'team'] });
    expect(welcome.CustomCampaign).toBe('team-welcome');

    expect(message('security-notice@mailjet.example').From).toEqual({ Email: 'security@circles.example' });
    const plain = message('plain-notice@mailjet.example');
    expect(plain.From).toEqual({ Email: 'no-reply@circles.example', Name: 'Fallback' });
    expect(plain.ReplyTo).toBeUndefined();
  });
});

describe('per row: a Reply-To and tags given at enqueue, from TypeScript and from SQL', () => {
  let sink: SmtpSink;
  beforeAll(async () => (sink = await startSmtpSink()));
  afterAll(async () => sink?.close());

  it("replace the template's Reply-To and add to its tags, at a real SMTP server", async () => {
    const worker = await startWorker({ config, databaseUrl: database.url, transport: smtpTransport({ url: sink.url }), relay: { pollMs: 20 }, logger: createLogger({ level: 'silent' }) });
    const ids = [
      await mail.enqueue(pool, { template: 'team-welcome', to: 'row-ts@smtp.example', props: { name: 'Ada' }, replyTo: ' Grace Hopper <grace@circles.example> ', tags: ['invite-42', 'team'] }),
      (await pool.query(`select mailroom.enqueue('team-welcome', 'row-sql@smtp.example', '{"name": "Ada"}', reply_to => 'grace@circles.example', tags => array['invite-43']) as id`)).rows[0].id,
      (await pool.query(`select (mailroom.enqueue_many($1::jsonb))[1] as id`, [JSON.stringify([{ template: 'plain-notice', to: 'row-many@smtp.example', props: { name: 'Ada' }, reply_to: 'Support <support@circles.example>', tags: ['fan-out'] }])])).rows[0].id,
    ];
    try {
      await waitUntil(async () => (await pool.query(`select count(*)::int as n from mailroom.outbox where id = any($1) and status = 'sent'`, [ids])).rows[0].n, (n) => n === 3);
    } finally {
      await worker.stop();
    }
    const [ts] = sink.messagesTo('row-ts@smtp.example');
    expect(ts!.parsed.replyTo?.value).toEqual([{ name: 'Grace Hopper', address: 'grace@circles.example' }]);
    expect(ts!.headers.get('x-mailroom-tags')).toBe('onboarding, team, invite-42');
    const [viaSql] = sink.messagesTo('row-sql@smtp.example');
    expect(viaSql!.parsed.replyTo?.value).toEqual([{ name: '', address: 'grace@circles.example' }]);
    expect(viaSql!.headers.get('x-mailroom-tags')).toBe('onboarding, team, invite-43');
    const [many] = sink.messagesTo('row-many@smtp.example');
    expect(many!.parsed.replyTo?.value).toEqual([{ name: 'Support', address: 'support@circles.example' }]);
    expect(many!.headers.get('x-mailroom-tags')).toBe('fan-out');
    const { rows } = await pool.query('select reply_to, tags from mailroom.outbox where id = any($1) order by recipient', [ids]);
    expect(rows).toEqual([
      { reply_to: 'Support <support@circles.example>', tags: ['fan-out'] },
      { reply_to: 'grace@circles.example', tags: ['invite-43'] },
      { reply_to: 'Grace Hopper <grace@circles.example>', tags: ['invite-42', 'team'] },
    ]);
  });

  it.each([
    ['a Reply-To with a line break', { replyTo: 'a@circles.example\r\nBcc: x@evil.test' }, 'replyTo', 'reply_to'],
    ['a Reply-To that is no address', { replyTo: 'support' }, 'replyTo', 'reply_to'],
    ['a Reply-To with a tab', { replyTo: 'Ada\t<a@circles.example>' }, 'replyTo', 'reply_to'],
    ['a Reply-To with a non-breaking space around it', { replyTo: '\u00a0a@circles.example' }, 'replyTo', 'reply_to'],
    ['a Reply-To whose address is malformed', { replyTo: 'Ada <a@b>' }, 'replyTo', 'reply_to'],
    ['a tag with a space', { tags: ['ok', 'two words'] }, 'tags.1', 'tags.1'],
    ['an upper-case tag', { tags: ['Invite'] }, 'tags.0', 'tags.0'],
    ['an empty tag', { tags: [''] }, 'tags.0', 'tags.0'],
    ['eleven tags', { tags: Array.from({ length: 11 }, (_, i) => `t${i}`) }, 'tags', 'tags'],
  ] as const)('%s: refused on both paths, nothing written', async (_name, extra, tsField, sqlField) => {
    const before = (await pool.query('select count(*)::int as n from mailroom.outbox')).rows[0].n;
    const ts = await mail.enqueue(pool, { template: 'plain-notice', to: 'refused@example.test', props: { name: 'Ada' }, ...(extra as object) }).catch((e: { field?: string }) => e);
    expect((ts as { field?: string }).field).toBe(tsField);
    const args = { reply_to: (extra as { replyTo?: string }).replyTo ?? null, tags: (extra as { tags?: string[] }).tags ?? null };
    const viaSql = await pool
      .query(`select mailroom.enqueue('plain-notice', 'refused@example.test', '{"name": "Ada"}', reply_to => $1, tags => $2::text[])`, [args.reply_to, args.tags])
      .catch((e: { code?: string; detail?: string }) => e);
    expect(viaSql).toMatchObject({ code: '22023', detail: `field=${sqlField}` });
    const many = await pool
      .query(`select mailroom.enqueue_many($1::jsonb)`, [JSON.stringify([{ template: 'plain-notice', to: 'ok@example.test', props: { name: 'Ada' } }, { template: 'plain-notice', to: 'refused@example.test', props: { name: 'Ada' }, ...args }])])
      .catch((e: { code?: string; detail?: string }) => e);
    expect(many).toMatchObject({ code: '22023', detail: `field=1.${sqlField}` });
    expect((await pool.query('select count(*)::int as n from mailroom.outbox')).rows[0].n).toBe(before);
  });
});

describe('declarations refused at start-up, naming the field', () => {
  const templateWith = (envelope: unknown) => () => defineTemplate({ ...base, envelope: envelope as never });
  it.each([
    ['a From outside the senders', () => defineConfig({ senders: ['a@circles.example'], templates: { t: defineTemplate({ ...base, envelope: { from: 'ceo@circles.example' } }) } }), /envelope\.from "ceo@circles\.example" is not one of the config's senders/],
    ['a From with no senders declared', () => defineConfig({ templates: { t: defineTemplate({ ...base, envelope: { from: 'a@circles.example' } }) } }), /not one of the config's senders/],
    ['a sender that is not an address', () => defineConfig({ senders: ['Team'], templates: { t: defineTemplate(base) } }), /senders holds "Team"/],
    ['a From with a line break', templateWith({ from: 'a@circles.example\r\nBcc: x@evil.test' }), /envelope\.from must be one line/],
    ['a Reply-To that is no address', templateWith({ replyTo: 'support' }), /envelope\.replyTo must be one line/],
    ['a header value with a line break', templateWith({ headers: { 'X-Ref': 'a\r\nBcc: x@evil.test' } }), /envelope\.headers\.X-Ref must be one line/],
    ['a header that is not X-', templateWith({ headers: { Bcc: 'x@evil.test' } }), /"Bcc" must be an X- header name/],
    ['a header of mailroom\'s own', templateWith({ headers: { 'X-Mailroom-Id': 'x' } }), /not X-Mailroom-/],
    ['headers over 2 KiB', templateWith({ headers: { 'X-Big': 'x'.repeat(2100) } }), /over the 2048-byte limit/],
    ['a tag with a space', templateWith({ tags: ['two words'] }), /envelope\.tags: "two words"/],
    ['eleven tags', templateWith({ tags: Array.from({ length: 11 }, (_, i) => `t${i}`) }), /at most 10 tags/],
  ])('%s', (_name, declare, message) => {
    expect(declare).toThrow(DefinitionError);
    expect(declare).toThrow(message);
  });
});
