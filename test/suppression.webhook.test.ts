// Bounces and complaints from Mailjet's webhook stop later email to the address
// (one mailroom mailed: test/webhooks.replayed-and-hostile.test.ts has the others,
// and replays); bad secrets and malformed payloads store nothing. Manual
// suppressions via the CLI.
import { describe, expect, it } from 'vitest';
import { enqueueEmail } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { basicAuth, useWebhookServer } from './support/webhook-server.ts';
import { runCli, startInProcessWorker, waitUntil } from './support/worker.ts';

const SECRET = 'webhook-secret-0123456789';
const s = useScenario();
const { post } = useWebhookServer(s, SECRET);
const counts = async () => {
  const { rows } = await s.pool.query(
    `select (select count(*)::int from mailroom.delivery_event) as events, (select count(*)::int from mailroom.suppression) as suppressed`,
  );
  return rows[0] as { events: number; suppressed: number };
};

const hardBounce = {
  event: 'bounce',
  time: 1795858000,
  email: 'Gone@Example.test',
  CustomID: '7d8c1a2e-0000-4000-8000-000000000001',
  blocked: false,
  hard_bounce: true,
  error_related_to: 'recipient',
  error: 'user unknown',
};

describe('POST /webhooks/mailjet', () => {
  it('refuses a wrong or missing secret with 401, storing nothing', async () => {
    expect((await post(hardBounce, { auth: basicAuth('not-the-secret-at-all') })).statusCode).toBe(401);
    expect((await post(hardBounce, { auth: null })).statusCode).toBe(401);
    expect(await counts()).toEqual({ events: 0, suppressed: 0 });
  });

  it('refuses a malformed payload with 400 naming the field, storing nothing (not even the valid events of a batch)', async () => {
    const missingEmail = await post({ event: 'bounce', time: 1795858000, hard_bounce: true });
    expect(missingEmail.statusCode).toBe(400);
    expect(missingEmail.json().error).toMatchObject({ code: 'invalid_payload', field: 'email' });
    const badJson = await post('{"event": "bounce",');
    expect(badJson.statusCode).toBe(400);
    const mixed = await post([hardBounce, { ...hardBounce, email: 'not an address' }]);
    expect(mixed.statusCode).toBe(400);
    expect(mixed.json().error.field).toBe('1.email');
    expect(await counts()).toEqual({ events: 0, suppressed: 0 });
  });

  it('stores every event; hard bounces and spam complaints suppress the address, soft bounces and unsubs do not', async () => {
    // mailroom mailed these two (the bounce names its row, as Mailjet's CustomID does).
    const token = { token: 'token-0123456789abcdef' };
    const gone = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'Gone@Example.test', props: token });
    await enqueueEmail(s.pool, { template: 'account-confirm', to: 'complains@example.test', props: token });
    // As Mailjet sends it: MessageID a JSON number above 2^53, which must not be rounded.
    const exactId = JSON.stringify({ ...hardBounce, CustomID: gone }).replace('{', '{"MessageID":288230376151711744,');
    const others = JSON.stringify([
      { event: 'spam', time: 1795858001, MessageID: '2', email: 'complains@example.test', source: 'JMRPP' },
      { event: 'bounce', time: 1795858002, MessageID: '3', email: 'full@example.test', hard_bounce: false, error: 'mailbox full' },
      { event: 'unsub', time: 1795858003, MessageID: '4', email: 'unsub@example.test', list_id: 1 },
      { event: 'blocked', time: 1795858004, MessageID: '5', email: 'blocked@example.test', error: 'spam content' },
    ]);
    const response = await post(`[${exactId},${others.slice(1)}`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ stored: 5, duplicates: 0, suppressed: 2, notMailed: 0, optedOut: 0 });
    const { rows } = await s.pool.query('select address, reason, source from mailroom.suppression order by address');
    expect(rows).toEqual([
      { address: 'complains@example.test', reason: 'complaint', source: 'mailjet' },
      { address: 'gone@example.test', reason: 'hard_bounce', source: 'mailjet' },
    ]);
    const event = (await s.pool.query(`select * from mailroom.delivery_event where event = 'bounce' and hard`)).rows[0];
    expect(event).toMatchObject({ provider: 'mailjet', outbox_id: gone, provider_message_id: '288230376151711744', reason: 'user unknown' });
    expect(event.payload.error_related_to).toBe('recipient');
  });

  it('later email to a suppressed address ends suppressed, without a send', async () => {
    const worker = await startInProcessWorker(s.env());
    try {
      const id = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'gone@example.test', props: { token: 'token-0123456789abcdef' } });
      const row = await waitUntil(async () => (await s.pool.query('select status, attempts from mailroom.outbox where id = $1', [id])).rows[0], (r) => r.status === 'suppressed');
      expect(row.attempts).toBe(0);
      expect(s.sink.messagesTo('gone@example.test')).toHaveLength(0);
    } finally {
      await worker.stop();
    }
  });
});

describe('mailroom suppress', () => {
  it('adds, lists and removes an address, naming bad input', async () => {
    const env = { DATABASE_URL: s.database.url };
    expect((await runCli(['suppress', 'add', 'Manual@Example.test', '--reason', 'asked by support'], env)).output).toContain('suppressed manual@example.test');
    const list = await runCli(['suppress', 'list', '--json'], env);
    expect(JSON.parse(list.output).map((r: { address: string }) => r.address)).toContain('manual@example.test');
    expect((await runCli(['suppress', 'remove', 'manual@example.test'], env)).code).toBe(0);
    const again = await runCli(['suppress', 'remove', 'manual@example.test'], env);
    expect(again.code).toBe(1);
    expect(again.output).toContain('not on the suppression list');
    const bad = await runCli(['suppress', 'add', "x'; drop table mailroom.outbox; --"], env);
    expect(bad.code).toBe(1);
    expect(bad.output).toContain('address:');
  });
});
