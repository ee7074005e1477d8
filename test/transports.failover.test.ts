// MAIL_TRANSPORT=mailjet,smtp: the circuit breaker moves sending to SMTP after the
// configured number of consecutive Mailjet failures, probes Mailjet again later
// (half-open) and returns to it once it answers. A 429 does not use up the email's attempts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/cli/env.ts';
import { SendError } from '../src/errors.ts';
import { enqueueEmail } from './support/mailroom.ts';
import { createFailoverTransport } from '../src/transports/failover.ts';
import { createMailjetTransport } from '../src/transports/mailjet.ts';
import { createSmtpTransport } from '../src/transports/smtp.ts';
import { startMailjetStub, type MailjetStub } from './support/mailjet-stub.ts';
import { outgoingEmail } from './support/outgoing-email.ts';
import { useScenario } from './support/scenario.ts';
import { startInProcessWorker, waitUntil } from './support/worker.ts';

const s = useScenario();
let stub: MailjetStub;
beforeAll(async () => {
  stub = await startMailjetStub();
});
afterAll(async () => {
  await stub?.close();
});

const email = outgoingEmail;

function chain(options: { failuresToOpen: number; probeAfterMs: number }, apiSecret = stub.apiSecret) {
  return createFailoverTransport(
    [
      createMailjetTransport({ apiKey: stub.apiKey, apiSecret, apiUrl: stub.url, timeoutMs: 2000, sandbox: false }),
      createSmtpTransport({ url: s.sink.url, maxConnections: 2, timeoutMs: 2000 }),
    ],
    options,
  );
}

const sendVia = async (transport: ReturnType<typeof chain>, to: string, n: number) =>
  transport.send(email(to, n)).then(
    (receipt) => receipt.transport,
    (error: SendError) => `${error.transport}:${error.errorClass}`,
  );

describe('failover with a circuit breaker', () => {
  it('switches after the configured failures, probes after the pause, and returns when the probe succeeds', async () => {
    const to = 'failover@example.test';
    stub.respond(to, 500);
    const transport = chain({ failuresToOpen: 3, probeAfterMs: 400 });
    const outcomes: (string | undefined)[] = [];
    for (let n = 1; n <= 5; n++) outcomes.push(await sendVia(transport, to, n));
    expect(outcomes).toEqual(['mailjet:transient', 'mailjet:transient', 'mailjet:transient', 'smtp', 'smtp']);
    expect(transport.circuits()[0]).toMatchObject({ name: 'mailjet', state: 'open' });

    // Still down at the probe: the circuit opens again for another pause.
    await new Promise((r) => setTimeout(r, 450));
    expect(await sendVia(transport, to, 6)).toBe('mailjet:transient');
    expect(await sendVia(transport, to, 7)).toBe('smtp');

    // Mailjet recovers: the next probe succeeds and sending returns to it.
    stub.respond(to, 'success');
    await new Promise((r) => setTimeout(r, 450));
    expect(await sendVia(transport, to, 8)).toBe('mailjet');
    expect(await sendVia(transport, to, 9)).toBe('mailjet');
    expect(transport.circuits()[0]).toMatchObject({ state: 'closed', failures: 0 });
    expect(s.sink.messagesTo(to).map((m) => m.subject)).toEqual(['message 4', 'message 5', 'message 7']);
  });

  it('opens at once on bad credentials, and does not count a message Mailjet refused for good', async () => {
    const badCredentials = chain({ failuresToOpen: 5, probeAfterMs: 60_000 }, 'wrong-secret');
    expect(await sendVia(badCredentials, 'creds@example.test', 1)).toBe('mailjet:config');
    expect(await sendVia(badCredentials, 'creds@example.test', 2)).toBe('smtp');

    stub.respond('invalid@example.test', 400);
    const transport = chain({ failuresToOpen: 2, probeAfterMs: 60_000 });
    for (let n = 1; n <= 3; n++) expect(await sendVia(transport, 'invalid@example.test', n)).toBe('mailjet:permanent');
    expect(transport.circuits()[0]).toMatchObject({ state: 'closed', failures: 0 });
  });
});

describe('a worker with MAIL_TRANSPORT=mailjet,smtp', () => {
  it('records which transport each attempt used, and sends through SMTP while Mailjet is down', async () => {
    stub.respond('down@example.test', 500);
    const worker = await startInProcessWorker(
      s.env({
        MAIL_TRANSPORT: 'mailjet,smtp',
        MAILJET_API_KEY: stub.apiKey,
        MAILJET_API_SECRET: stub.apiSecret,
        MAILJET_API_URL: stub.url,
        FAILOVER_AFTER: '2',
        FAILOVER_PROBE_MS: '60000',
        RETRY_BASE_MS: '100',
      }),
    );
    try {
      const id = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'down@example.test', props: { token: 'token-0123456789abcdef' } });
      await waitUntil(async () => (await s.pool.query('select status from mailroom.outbox where id = $1', [id])).rows[0].status, (st) => st === 'sent');
      const { rows } = await s.pool.query('select attempt, transport, outcome, error_class from mailroom.delivery_attempt where outbox_id = $1 order by attempt', [id]);
      expect(rows).toEqual([
        { attempt: 1, transport: 'mailjet', outcome: 'retry', error_class: 'transient' },
        { attempt: 2, transport: 'mailjet', outcome: 'retry', error_class: 'transient' },
        { attempt: 3, transport: 'smtp', outcome: 'sent', error_class: null },
      ]);
    } finally {
      await worker.stop();
    }
  });

  it('does not charge a 429 to the email: the try is not counted', async () => {
    stub.respond('busy@example.test', 429);
    const worker = await startInProcessWorker(
      s.env({ MAIL_TRANSPORT: 'mailjet', MAILJET_API_KEY: stub.apiKey, MAILJET_API_SECRET: stub.apiSecret, MAILJET_API_URL: stub.url, RETRY_BASE_MS: '300' }),
    );
    try {
      const id = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'busy@example.test', props: { token: 'token-0123456789abcdef' } });
      await waitUntil(async () => (await s.pool.query('select count(*)::int as n from mailroom.delivery_attempt where outbox_id = $1', [id])).rows[0].n, (n) => n >= 1);
      stub.respond('busy@example.test', 'success');
      const row = await waitUntil(async () => (await s.pool.query('select status, attempts, max_attempts from mailroom.outbox where id = $1', [id])).rows[0], (r) => r.status === 'sent');
      expect(row).toMatchObject({ attempts: 1, max_attempts: 8 }); // account-confirm allows 8; the throttled try is not counted
      const { rows } = await s.pool.query('select outcome, error_class, response_code from mailroom.delivery_attempt where outbox_id = $1 order by attempt', [id]);
      expect(rows).toEqual([
        { outcome: 'retry', error_class: 'throttled', response_code: 429 },
        { outcome: 'sent', error_class: null, response_code: 200 },
      ]);
    } finally {
      await worker.stop();
    }
  });
});

describe('MAIL_TRANSPORT', () => {
  it('accepts a list and refuses an unknown or repeated name, naming the variable', () => {
    expect(loadConfig({ MAIL_TRANSPORT: 'mailjet, smtp', SMTP_URL: 'smtp://x:25', MAILJET_API_KEY: 'k', MAILJET_API_SECRET: 's' }).MAIL_TRANSPORT).toEqual(['mailjet', 'smtp']);
    expect(() => loadConfig({ MAIL_TRANSPORT: 'fax' })).toThrow(/^MAIL_TRANSPORT /);
    expect(() => loadConfig({ MAIL_TRANSPORT: 'smtp,smtp', SMTP_URL: 'smtp://x:25' })).toThrow(/MAIL_TRANSPORT must not name a transport twice/);
    expect(() => loadConfig({ MAIL_TRANSPORT: 'mailjet,smtp', MAILJET_API_KEY: 'k', MAILJET_API_SECRET: 's' })).toThrow(/SMTP_URL is required/);
  });
});
