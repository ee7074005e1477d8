// Outbox ids are UUIDv7 (issue 17): the enqueue's time in milliseconds first, then
// random bits, so new rows land on the rightmost pages of every index that starts
// with the id. From TypeScript and from SQL alike; the relay's job ids too.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { enqueueEmail, enqueueEmails } from './support/mailroom.ts';

let database: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
});
afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

/** The version, the variant and the millisecond time a UUIDv7 carries (RFC 9562). */
function decode(id: string) {
  const hex = id.replace(/-/g, '');
  return { version: hex[12], variant: (parseInt(hex[16]!, 16) >> 2).toString(2), ms: parseInt(hex.slice(0, 12), 16) };
}

it('gives every row, enqueued from TypeScript or SQL, a UUIDv7 of its enqueue time, in the order enqueued', async () => {
  const ids: { id: string; before: number; after: number }[] = [];
  for (let i = 0; i < 30; i++) {
    const before = Date.now();
    const id =
      i % 2 === 0
        ? await enqueueEmail(pool, { template: 'account-confirm', to: `v7-${i}@example.test`, props: { token: `v7-token-${i}-0123456789` } })
        : (await pool.query(`select mailroom.enqueue('account-confirm', $1, $2::jsonb) as id`, [`v7-${i}@example.test`, JSON.stringify({ token: `v7-token-${i}-0123456789` })])).rows[0].id;
    ids.push({ id, before, after: Date.now() });
    if (i % 5 === 0) await new Promise((resolve) => setTimeout(resolve, 3));
  }
  for (const { id, before, after } of ids) {
    const { version, variant, ms } = decode(id);
    expect(version, id).toBe('7');
    expect(variant, id).toBe('10');
    // The database's clock and this process's are the same machine's; a millisecond of slack for rounding.
    expect(ms, id).toBeGreaterThanOrEqual(before - 1);
    expect(ms, id).toBeLessThanOrEqual(after + 1);
  }
  // Sorted by id is sorted by time (ties within a millisecond fall in any order).
  const times = ids.map(({ id }) => decode(id).ms);
  expect([...times].sort((a, b) => a - b)).toEqual(times);
  expect(new Set(ids.map((i) => i.id)).size).toBe(ids.length);
});

it('gives a fan-out (enqueueMany, ids made in TypeScript) and enqueue_many in SQL UUIDv7 ids too', async () => {
  const before = Date.now();
  const fromTs = await enqueueEmails(pool, Array.from({ length: 5 }, (_, i) => ({ template: 'account-confirm' as const, to: `fan-${i}@example.test`, props: { token: `fan-token-${i}-0123456789` } })));
  const { rows } = await pool.query<{ ids: string[] }>(`select mailroom.enqueue_many($1::jsonb) as ids`, [
    JSON.stringify(Array.from({ length: 5 }, (_, i) => ({ template: 'account-confirm', to: `sqlfan-${i}@example.test`, props: { token: `sqlfan-token-${i}-0123456789` } }))),
  ]);
  const after = Date.now();
  for (const id of [...fromTs, ...rows[0]!.ids]) {
    expect(decode(id), id).toMatchObject({ version: '7', variant: '10' });
    expect(decode(id).ms).toBeGreaterThanOrEqual(before - 1);
    expect(decode(id).ms).toBeLessThanOrEqual(after + 1);
  }
});

it('makes ids that do not repeat and carry 74 random bits', async () => {
  const { rows } = await pool.query<{ id: string }>('select mailroom.uuid_v7()::text as id from generate_series(1, 20000)');
  expect(new Set(rows.map((r) => r.id)).size).toBe(20000);
  // Within one millisecond the random part differs: the ids of one call's rows are not sequential.
  const sameMs = rows.filter((r) => decode(r.id).ms === decode(rows[0]!.id).ms).map((r) => r.id.slice(15));
  expect(new Set(sameMs).size).toBe(sameMs.length);
  for (const { id } of rows.slice(0, 100)) expect(decode(id)).toMatchObject({ version: '7', variant: '10' });
});
