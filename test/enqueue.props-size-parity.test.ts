// The 64 KiB props limit is one definition on both enqueue paths (issue 13): the
// bytes of the props in jsonb's text form. TypeScript counts them without asking
// PostgreSQL (jsonbTextBytes); here PostgreSQL counts the same values, and at the
// limit both paths accept the same props and refuse the same props, in the same words.
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ValidationError } from '../src/index.ts';
import { jsonbTextBytes } from '../src/outbox/props-size.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { enqueueEmail } from './support/mailroom.ts';

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

/** What PostgreSQL cannot store in jsonb at all (refused before the size on both paths). */
const storable = (json: string) => !/\\u0000|\\ud[89a-f][0-9a-f]{2}/i.test(json);

it('counts the bytes of any JSON value as octet_length(value::jsonb::text) does', async () => {
  const samples = fc.sample(fc.jsonValue({ maxDepth: 4 }), { numRuns: 3000, seed: 20261202 });
  const numbers = [1e21, 1.5e-7, -2.5e-300, 5e-324, 1.7976931348623157e308, 123456789e30, -0, 0.1, 1e-6, 1e-7];
  const texts = [...samples, ...numbers, { n: numbers, s: 'tab\t "quote" \\ é 名 🙂 \u0001 \u007f \u2028' }]
    .map((v) => JSON.stringify(v))
    .filter(storable);
  const { rows } = await pool.query<{ n: number[] }>('select array_agg(octet_length(t::jsonb::text) order by i) as n from unnest($1::text[]) with ordinality as u(t, i)', [texts]);
  const disagreements = texts.flatMap((text, i) => (jsonbTextBytes(text) === rows[0]!.n[i] ? [] : [`${text.slice(0, 80)}: TypeScript ${jsonbTextBytes(text)}, SQL ${rows[0]!.n[i]}`]));
  expect(disagreements.slice(0, 10)).toEqual([]);
  expect(texts.length).toBeGreaterThan(2500);
});

async function viaTypeScript(props: object) {
  try {
    await enqueueEmail(pool, { template: 'account-confirm', to: 'size@example.test', props: props as never });
    return 'accepted';
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return `${error.field}: ${error.message}`;
  }
}

async function viaSql(props: object) {
  try {
    await pool.query(`select mailroom.enqueue('account-confirm', 'size@example.test', $1::jsonb)`, [JSON.stringify(props)]);
    return 'accepted';
  } catch (error) {
    const e = error as pg.DatabaseError;
    if (e.code !== '22023') throw error;
    return `${e.detail!.replace(/^field=/, '')}: ${e.message}`;
  }
}

it('accepts exactly the same props at the 64 KiB limit on both paths, and refuses one byte more in the same words', async () => {
  // Many keys (a space after each ':' and ',' in jsonb's form) and an exponent number:
  // JSON.stringify's length is about 2 KiB under what SQL counts.
  const base = { name: 'Ada', token: 'size-token-0123456789', n: 1e21, ...Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`k${i}`, i])) };
  const padded = (bytes: number) => {
    const props = { ...base, padding: '' };
    props.padding = 'x'.repeat(bytes - jsonbTextBytes(JSON.stringify(props)));
    return props;
  };
  const atLimit = padded(65_536);
  const overLimit = padded(65_537);
  expect(Buffer.byteLength(JSON.stringify(overLimit))).toBeLessThan(65_536 - 1000);

  expect(await viaTypeScript(atLimit)).toBe('accepted');
  expect(await viaSql(atLimit)).toBe('accepted');
  const ts = await viaTypeScript(overLimit);
  const sql = await viaSql(overLimit);
  expect(ts).toBe('props: props: are 65537 bytes, over the 64 KiB limit');
  expect(sql).toBe('props: mailroom.enqueue: props are 65537 bytes, over the 64 KiB limit');
});
