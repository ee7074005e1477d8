// Oversized and garbage input is refused before anything is stored: props of
// several megabytes and very long recipients (TypeScript and SQL producers), and
// POST /webhooks/mailjet bodies that are too big, not JSON, or not events.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/index.ts';
import { enqueueEmail } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { useWebhookServer } from './support/webhook-server.ts';

const s = useScenario();
const { post } = useWebhookServer(s, 'oversized-webhook-secret-0123456789');

const stored = async () =>
  (
    await s.pool.query(
      `select (select count(*)::int from mailroom.outbox) as outbox,
              (select count(*)::int from mailroom.delivery_event) as events,
              (select count(*)::int from mailroom.suppression) as suppressed`,
    )
  ).rows[0] as { outbox: number; events: number; suppressed: number };

const MB = 1024 * 1024;
const token = 'token-0123456789abcdef';

describe('enqueue refuses oversized input, naming the field, writing nothing', () => {
  const cases = [
    { name: '4 MB in one prop', field: 'props', to: 'a@example.test', props: { token, name: 'n'.repeat(4 * MB) } },
    { name: '3 MB spread over 30,000 props', field: 'props', to: 'a@example.test', props: { token, ...Object.fromEntries(Array.from({ length: 30_000 }, (_, i) => [`k${i}`, 'v'.repeat(100)])) } },
    { name: 'a 1 MB recipient', field: 'to', to: `${'a'.repeat(MB)}@example.test`, props: { token } },
    { name: 'a 300-character recipient', field: 'to', to: `${'a'.repeat(60)}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(60)}.test`, props: { token } },
  ];
  for (const c of cases) {
    it(`enqueueEmail(): ${c.name}`, async () => {
      const error = await enqueueEmail(s.pool, { template: 'account-confirm', to: c.to, props: c.props as never }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe(c.field);
      expect((error as Error).message.length).toBeLessThan(2000); // the error does not echo megabytes back
      expect(await stored()).toMatchObject({ outbox: 0 });
    });
    it(`mailroom.enqueue() in SQL: ${c.name}`, async () => {
      const error = await s.pool
        .query(`select mailroom.enqueue('account-confirm', $1, $2::jsonb)`, [c.to, JSON.stringify(c.props)])
        .catch((e: { detail?: string; message: string }) => e);
      expect(error).toMatchObject({ detail: `field=${c.field}` });
      expect(await stored()).toMatchObject({ outbox: 0 });
    });
  }
});

describe('POST /webhooks/mailjet refuses oversized and garbage bodies, storing nothing', () => {
  const event = { event: 'bounce', time: 1795858000, email: 'gone@example.test', hard_bounce: true };

  const cases: { name: string; payload: () => string | Buffer; contentType?: string; status: number }[] = [
    { name: 'a 2 MB array of valid events', payload: () => JSON.stringify(Array.from({ length: 20_000 }, () => event)), status: 413 },
    { name: 'one event with a 1.5 MB field', payload: () => JSON.stringify({ ...event, error: 'x'.repeat(1.5 * MB) }), status: 413 },
    { name: '1001 events (over the batch limit)', payload: () => JSON.stringify(Array.from({ length: 1001 }, () => event)), status: 400 },
    { name: 'random bytes', payload: () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)), status: 400 },
    { name: 'truncated JSON', payload: () => JSON.stringify([event, event]).slice(0, -7), status: 400 },
    { name: 'JSON nested 100,000 deep', payload: () => `${'['.repeat(100_000)}${']'.repeat(100_000)}`, status: 400 },
    { name: 'a JSON string', payload: () => JSON.stringify('bounce'), status: 400 },
    { name: 'null', payload: () => 'null', status: 400 },
    { name: 'an empty array', payload: () => '[]', status: 400 },
    { name: 'an address with NUL', payload: () => JSON.stringify({ ...event, email: 'go\u0000ne@example.test' }), status: 400 },
    { name: 'an address with CR LF', payload: () => JSON.stringify({ ...event, email: 'gone@example.test\r\nBcc: x@evil.test' }), status: 400 },
    { name: 'a 5,000-character address', payload: () => JSON.stringify({ ...event, email: `${'g'.repeat(5000)}@example.test` }), status: 400 },
    { name: 'form-encoded garbage', payload: () => 'event=bounce&email=gone%40example.test', contentType: 'application/x-www-form-urlencoded', status: 415 },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.status}`, async () => {
      const response = await post(c.payload(), c.contentType ? { contentType: c.contentType } : {});
      expect(response.statusCode, response.body.slice(0, 500)).toBe(c.status);
      expect(response.body.length).toBeLessThan(2000);
      expect(response.body).not.toMatch(/node_modules|\bat .*\.(ts|js):\d+|SQLSTATE/);
      expect(await stored()).toEqual({ outbox: 0, events: 0, suppressed: 0 });
    });
  }
});
