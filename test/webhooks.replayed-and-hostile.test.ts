// Mailjet's webhook against replays and hostile bodies, through the real HTTP route:
// an event received twice is stored and acted on once (a replayed complaint does not
// re-suppress an address an operator has just lifted); an event about an address
// mailroom never mailed is kept but suppresses nothing; a deeply nested body, or
// one PostgreSQL cannot store, is a 4xx that says what is wrong and nothing about
// the server's insides.
import { describe, expect, it } from 'vitest';
import { removeSuppression } from '../src/suppression/provider-events.ts';
import { connect } from '../src/db/connect.ts';
import { enqueueEmail } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { useWebhookServer } from './support/webhook-server.ts';

const SECRET = 'webhook-secret-0123456789';
const s = useScenario();
const { post } = useWebhookServer(s, SECRET);

const enqueue = (to: string) => enqueueEmail(s.pool, { template: 'account-confirm', to, props: { token: 'token-0123456789abcdef' } });
const suppressed = async () => (await s.pool.query('select address, reason from mailroom.suppression order by address')).rows;
const events = async (address: string) =>
  (await s.pool.query('select event, outbox_id from mailroom.delivery_event where lower(address) = lower($1)', [address])).rows;
const withDb = async <T>(fn: (db: ReturnType<typeof connect>) => Promise<T>) => {
  const db = connect(s.database.url, { max: 1 });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
};

describe('a replayed event', () => {
  it('is stored and acted on once: a replayed complaint does not re-suppress an address an operator lifted', async () => {
    const id = await enqueue('Replayed@Example.test');
    const complaint = { event: 'spam', time: 1795858100, MessageID: 288230376151711800, email: 'replayed@example.test', CustomID: id, source: 'JMRPP' };
    const first = await post(complaint);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ stored: 1, duplicates: 0, suppressed: 1 });
    expect(await suppressed()).toEqual([{ address: 'replayed@example.test', reason: 'complaint' }]);

    // Support lifts it (the person asked to get mail again) ...
    expect(await withDb((db) => removeSuppression(db.kysely, 'replayed@example.test'))).toBe(true);
    // ... and Mailjet, or anyone holding an old request, sends the same event again:
    // as it was, with its keys in another order, with the address in another case, twice in one batch.
    const again = await post(complaint);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ stored: 0, duplicates: 1, suppressed: 0 });
    const reordered = Object.fromEntries(Object.entries({ ...complaint, email: 'REPLAYED@example.TEST' }).reverse());
    expect((await post([reordered, complaint])).json()).toMatchObject({ stored: 0, duplicates: 2, suppressed: 0 });
    expect(await suppressed()).toEqual([]);
    expect(await events('replayed@example.test')).toHaveLength(1);
  });

  it('is told from a new event about the same message: another type or another time counts', async () => {
    const id = await enqueue('twice@example.test');
    const base = { time: 1795858200, MessageID: '42', email: 'twice@example.test', CustomID: id };
    const batch = [
      { ...base, event: 'open' },
      { ...base, event: 'open' },
      { ...base, event: 'open', time: 1795858201 },
      { ...base, event: 'click', url: 'https://app.example/a' },
      { ...base, event: 'click', url: 'https://app.example/b' },
    ];
    expect((await post(batch)).json()).toMatchObject({ stored: 4, duplicates: 1, suppressed: 0 });
  });
});

describe('an event about an address mailroom never mailed', () => {
  it('is stored but suppresses nothing; one about a mailed address, in another case, still suppresses', async () => {
    const mailed = await enqueue('ÉLODIE@example.test');
    const bounce = (email: string, CustomID?: string) => ({
      event: 'bounce', time: 1795858300, email, hard_bounce: true, error: 'user unknown', ...(CustomID ? { CustomID } : {}),
    });
    const response = await post([
      // Never mailed, with no CustomID or with one that names no outbox row.
      bounce('stranger@example.test'),
      bounce('stranger2@example.test', '7d8c1a2e-0000-4000-8000-0000000000ff'),
      // A CustomID of a real row, about someone else.
      bounce('someone-else@example.test', mailed),
      // The mailed address, as the provider writes it: by its row, and by its address alone.
      bounce('élodie@example.test', mailed),
      { ...bounce('Élodie@Example.test'), time: 1795858301 },
    ]);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ stored: 5, duplicates: 0, suppressed: 1, notMailed: 3 });
    expect((await suppressed()).map((r) => r.address)).toEqual(['élodie@example.test']);
    expect(await events('stranger@example.test')).toEqual([{ event: 'bounce', outbox_id: null }]);
    expect(await events('someone-else@example.test')).toEqual([{ event: 'bounce', outbox_id: mailed }]);
  });
});

describe('a deeply nested body', () => {
  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  const valid = { event: 'open', time: 1795858400, email: 'nested@example.test' };

  it.each([
    ['inside an otherwise valid event', JSON.stringify(valid).replace(/}$/, `,"extra":${nested(100_000)}}`)],
    ['inside a field, as objects', JSON.stringify(valid).replace(/}$/, `,"extra":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`)],
    ['as the whole body', nested(100_000)],
  ])('%s is a 4xx naming the problem, with no internal error text, storing nothing', async (_what, body) => {
    const response = await post(body);
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
    expect(response.json().error).toMatchObject({ code: 'too_deeply_nested' });
    expect(response.body).not.toMatch(/stack|RangeError|depth limit|Maximum call|postgres|at [\w.]+ \(/i);
    expect(await events('nested@example.test')).toEqual([]);
  });

  it.each([
    ['a NUL character', { ...valid, error: 'bad\u0000byte' }, 'error'],
    ['a lone surrogate', { ...valid, extra: { note: 'half \ud800 a pair' } }, 'extra.note'],
  ])('%s anywhere in an event, which PostgreSQL cannot store, is a 400 naming the field', async (_what, event, field) => {
    const response = await post([valid, event]);
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'invalid_payload', field: `1.${field}` });
    expect(await events('nested@example.test')).toEqual([]);
  });

  it('a modestly nested extra field is still accepted', async () => {
    const response = await post({ ...valid, email: 'nested-ok@example.test', extra: { a: [{ b: [1, 2, { c: 'd' }] }] } });
    expect(response.statusCode).toBe(200);
  });
});
