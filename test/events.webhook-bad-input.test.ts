// Bad input to POST /webhooks/mailjet is a 4xx that names the problem, or is stored
// unmatched as docs/operations.md says: never a 500, never a crash. And the event key
// tells every type of Mailjet event from another and from its replay.
import { describe, expect, it } from 'vitest';
import { enqueueEmail } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { useWebhookServer } from './support/webhook-server.ts';

const SECRET = 'webhook-secret-0123456789';
const s = useScenario();
const { post } = useWebhookServer(s, SECRET);
const stored = async () => Number((await s.pool.query('select count(*) from mailroom.delivery_event')).rows[0].count);

const valid = { event: 'open', time: 1795858000, MessageID: '19421777396190490', email: 'someone@example.test', CustomID: '' };

describe('a body that is not a Mailjet event or batch', () => {
  it.each([
    ['not JSON', '{"event": "open",'],
    ['JSON text that is no object', '"open"'],
    ['a number', '42'],
    ['null', 'null'],
    ['true', 'true'],
    ['an empty array', '[]'],
    ['an array of strings', '["open", "click"]'],
    ['an array inside an array', JSON.stringify([[valid]])],
    ['an empty object', '{}'],
    ['an event without a type', JSON.stringify({ ...valid, event: undefined })],
    ['an event whose type is null', JSON.stringify({ ...valid, event: null })],
    ['an event of a type Mailjet does not send', JSON.stringify({ ...valid, event: 'delivered' })],
    ['an event without a time', JSON.stringify({ ...valid, time: undefined })],
    ['a time in milliseconds past any date', JSON.stringify({ ...valid, time: 9_007_199_254_740_991 })],
    ['a time as text', JSON.stringify({ ...valid, time: '1795858000' })],
    ['an address that is none', JSON.stringify({ ...valid, email: 'nobody' })],
    ['a CustomID that is not text', JSON.stringify({ ...valid, CustomID: { id: 1 } })],
    ['a batch with one bad event among good ones', JSON.stringify([valid, { ...valid, event: 'opened' }])],
  ])('%s: 400 with a code and a message, nothing stored', async (_what, body) => {
    const response = await post(body);
    expect(response.statusCode, response.body).toBe(400);
    const { error } = response.json();
    expect(error.code).toMatch(/^(invalid_json|invalid_payload|invalid_request)$/);
    expect(error.message).toEqual(expect.any(String));
    expect(response.body).not.toMatch(/stack|postgres|at [\w.]+ \(/i);
    expect(await stored()).toBe(0);
  });

  it('names the field of a missing type, and its index in a batch', async () => {
    const one = (await post(JSON.stringify({ ...valid, event: undefined }))).json().error;
    expect(one).toMatchObject({ code: 'invalid_payload', field: 'event' });
    const inBatch = (await post(JSON.stringify([valid, { ...valid, event: undefined }]))).json().error;
    expect(inBatch).toMatchObject({ code: 'invalid_payload', field: '1.event' });
  });

  it('an empty body, or one that is not JSON by its type, is a 4xx', async () => {
    for (const [body, contentType] of [['', 'application/json'], ['event=open', 'application/x-www-form-urlencoded'], [JSON.stringify(valid), 'text/plain']] as const) {
      const response = await post(body, { contentType });
      expect(response.statusCode, `${contentType} ${body}: ${response.body}`).toBeGreaterThanOrEqual(400);
      expect(response.statusCode).toBeLessThan(500);
    }
    expect(await stored()).toBe(0);
  });
});

describe('an event about no outbox row', () => {
  it('is stored unmatched (outbox_id null), whatever its CustomID: another app\'s, a UUID of no row, none', async () => {
    const events = [
      { ...valid, CustomID: 'order-1234' },
      { ...valid, time: 1795858001, CustomID: '7d8c1a2e-0000-4000-8000-0000000000ff' },
      { ...valid, time: 1795858002, CustomID: undefined },
    ];
    const response = await post(events);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ stored: 3, duplicates: 0 });
    const { rows } = await s.pool.query('select outbox_id, payload ->> $1 as custom_id from mailroom.delivery_event order by id', ['CustomID']);
    expect(rows).toEqual([
      { outbox_id: null, custom_id: 'order-1234' },
      { outbox_id: null, custom_id: '7d8c1a2e-0000-4000-8000-0000000000ff' },
      { outbox_id: null, custom_id: null },
    ]);
    // The server is still there.
    expect((await post(valid)).statusCode).toBe(200);
  });
});

describe('the event key', () => {
  it('keeps one of each replayed event, of every type, and tells apart events that differ', async () => {
    const id = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'keyed@example.test', props: { token: 'token-0123456789abcdef' } });
    const base = { time: 1795859000, MessageID: '19421777396190491', Message_GUID: 'guid-keyed', email: 'keyed@example.test', CustomID: id };
    const types = [
      { ...base, event: 'sent', smtp_reply: '250 OK' },
      { ...base, event: 'open', agent: 'Mozilla/5.0' },
      { ...base, event: 'click', url: 'https://app.example/a' },
      { ...base, event: 'bounce', hard_bounce: false, error: 'quota exceeded' },
      { ...base, event: 'blocked', error: 'preblocked' },
      { ...base, event: 'spam', source: 'JMRPP' },
      { ...base, event: 'unsub', mj_list_id: 1 },
    ];
    const before = await stored();
    expect((await post(types)).json()).toMatchObject({ stored: 7, duplicates: 0 });
    expect((await post(types)).json()).toMatchObject({ stored: 0, duplicates: 7 });
    // The same events a second later, or a click on another link, are new events.
    const later = types.map((e) => ({ ...e, time: e.time + 1 }));
    expect((await post([...later, { ...base, event: 'click', url: 'https://app.example/b' }])).json()).toMatchObject({ stored: 8, duplicates: 0 });
    expect(await stored()).toBe(before + 15);
  });
});
