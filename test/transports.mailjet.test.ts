// The Mailjet transport against a stub that speaks Send API v3.1: what it sends,
// and how each answer is classified (and recorded, through a real worker).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SendError } from '../src/errors.ts';
import { enqueueEmail } from './support/mailroom.ts';
import { createMailjetTransport } from '../src/transports/mailjet.ts';
import type { OutgoingEmail } from '../src/transports/transport.ts';
import { startMailjetStub, type MailjetStub } from './support/mailjet-stub.ts';
import { useScenario } from './support/scenario.ts';
import { runCli, startInProcessWorker, waitUntil } from './support/worker.ts';

let stub: MailjetStub;
beforeAll(async () => {
  stub = await startMailjetStub();
});
afterAll(async () => {
  await stub?.close();
});

const email = (to: string): OutgoingEmail => ({
  outboxId: '7d8c1a2e-0000-4000-8000-000000000001',
  messageId: '<7d8c1a2e-0000-4000-8000-000000000001@mailroom.test>',
  from: 'Circles <no-reply@circles.example>',
  to,
  subject: 'Confirm your email address',
  html: '<p>Hi</p>',
  text: 'Hi',
});

const transport = (overrides: Partial<Parameters<typeof createMailjetTransport>[0]> = {}) =>
  createMailjetTransport({ apiKey: stub.apiKey, apiSecret: stub.apiSecret, apiUrl: stub.url, timeoutMs: 2000, sandbox: false, ...overrides });

const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (e: unknown) => e as SendError);

describe('Mailjet transport', () => {
  it('sends one message per call with From, To, Subject, both parts, Headers and CustomID set to the outbox id', async () => {
    const receipt = await transport().send(email('ok@example.test'));
    expect(receipt.providerMessageId).toMatch(/^\d{18}$/);
    const request = stub.requests.at(-1)!;
    expect(request.target).toBe('https://api.mailjet.com/v3.1/send');
    expect(request.auth).toEqual({ user: 'stub-key', pass: 'stub-secret' });
    expect(request.body.SandboxMode).toBe(false);
    expect(request.body.Messages).toHaveLength(1);
    expect(request.body.Messages[0]).toMatchObject({
      From: { Email: 'no-reply@circles.example', Name: 'Circles' },
      To: [{ Email: 'ok@example.test' }],
      Subject: 'Confirm your email address',
      TextPart: 'Hi',
      HTMLPart: '<p>Hi</p>',
      CustomID: '7d8c1a2e-0000-4000-8000-000000000001',
      Headers: { 'X-Mailroom-Id': '7d8c1a2e-0000-4000-8000-000000000001' },
    });
  });

  it('passes SandboxMode', async () => {
    await transport({ sandbox: true }).send(email('sandbox@example.test'));
    expect(stub.requests.at(-1)!.body.SandboxMode).toBe(true);
  });

  it('classes a 400 with per-message Errors as permanent, keeping ErrorCode and message', async () => {
    stub.respond('bad@example.test', 400);
    const error = await failure(transport().send(email('bad@example.test')));
    expect(error).toBeInstanceOf(SendError);
    expect(error!.errorClass).toBe('permanent');
    expect(error!.responseCode).toBe(400);
    expect(error!.message).toContain('mj-0013');
    expect(error!.message).toContain('is an invalid email address');
    expect(error!.response).toContain('ErrorRelatedTo');
  });

  it('classes bad credentials (401) as a configuration fault', async () => {
    const error = await failure(transport({ apiSecret: 'wrong' }).send(email('ok@example.test')));
    expect(error!.errorClass).toBe('config');
    expect(error!.responseCode).toBe(401);
  });

  it('classes 429 as throttled and 500 as transient', async () => {
    stub.respond('slow-down@example.test', 429);
    stub.respond('broken@example.test', 500);
    expect((await failure(transport().send(email('slow-down@example.test'))))!.errorClass).toBe('throttled');
    expect((await failure(transport().send(email('broken@example.test'))))!.errorClass).toBe('transient');
  });

  it('classes a hung request that times out as ambiguous: it may have been accepted', async () => {
    stub.respond('hangs@example.test', 'hang');
    const started = Date.now();
    const error = await failure(transport({ timeoutMs: 400 }).send(email('hangs@example.test')));
    expect(error!.errorClass).toBe('ambiguous');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('classes a refused connection as transient', async () => {
    const error = await failure(transport({ apiUrl: 'http://127.0.0.1:1' }).send(email('ok@example.test')));
    expect(error!.errorClass).toBe('transient');
  });
});

describe('a worker with MAIL_TRANSPORT=mailjet', () => {
  const s = useScenario();

  it('records the Mailjet MessageID on a sent row, and ErrorCode on a refused one', async () => {
    stub.respond('refused@example.test', 400);
    const worker = await startInProcessWorker(
      s.env({ MAIL_TRANSPORT: 'mailjet', MAILJET_API_KEY: stub.apiKey, MAILJET_API_SECRET: stub.apiSecret, MAILJET_API_URL: stub.url }),
    );
    try {
      const sent = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'mj@example.test', props: { token: 'token-0123456789abcdef' } });
      const refused = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'refused@example.test', props: { token: 'token-0123456789abcdef' } });
      const rows = await waitUntil(
        async () => (await s.pool.query('select id, status, provider_message_id from mailroom.outbox where id = any($1)', [[sent, refused]])).rows,
        (r) => r.every((row) => row.status === 'sent' || row.status === 'failed'),
      );
      const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
      expect(byId[sent]).toMatchObject({ status: 'sent' });
      expect(byId[sent].provider_message_id).toMatch(/^\d{18}$/);
      expect(byId[refused]).toMatchObject({ status: 'failed' });
      const attempts = (await s.pool.query('select outbox_id, transport, outcome, error_class, response_code, error_message from mailroom.delivery_attempt where outbox_id = any($1)', [[sent, refused]])).rows;
      expect(attempts.find((a) => a.outbox_id === sent)).toMatchObject({ transport: 'mailjet', outcome: 'sent' });
      expect(attempts.find((a) => a.outbox_id === refused)).toMatchObject({ transport: 'mailjet', outcome: 'failed', error_class: 'permanent', response_code: 400 });
      expect(attempts.find((a) => a.outbox_id === refused).error_message).toContain('mj-0013');
      // The CustomID Mailjet saw is the outbox id.
      expect(stub.requests.some((r) => r.body.Messages[0]!.CustomID === sent)).toBe(true);
    } finally {
      await worker.stop();
    }
  });

  it('refuses to start without credentials, naming the variable', async () => {
    const { code, output } = await runCli(['worker'], s.env({ MAIL_TRANSPORT: 'mailjet', MAILJET_API_KEY: 'k', MAILJET_API_SECRET: '' }));
    expect(code).toBe(1);
    expect(output).toContain('MAILJET_API_SECRET is required when MAIL_TRANSPORT=mailjet');
  });
});
