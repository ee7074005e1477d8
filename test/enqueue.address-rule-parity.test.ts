// The address rule is enforced twice, in TypeScript (isValidAddress) and in SQL
// (mailroom.is_valid_address): both must refuse exactly the same characters. Every
// code point of the Basic Multilingual Plane (and a sample above it) is tried in the
// local part, at its start, middle and end, on both sides.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isValidAddress } from '../src/outbox/validate.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

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

it('refuses the same characters in TypeScript and SQL, for every code point of the BMP and a sample above', async () => {
  const codePoints: number[] = [];
  for (let c = 1; c <= 0xffff; c++) if (c < 0xd800 || c > 0xdfff) codePoints.push(c); // NUL and lone surrogates cannot be stored at all
  for (let c = 0x10000; c <= 0x10ffff; c += 0x1fff) codePoints.push(c);
  const addresses = codePoints.flatMap((c) => {
    const ch = String.fromCodePoint(c);
    return [`${ch}ada@example.test`, `a${ch}da@example.test`, `ada${ch}@example.test`];
  });
  const disagreements: string[] = [];
  for (let i = 0; i < addresses.length; i += 20_000) {
    const batch = addresses.slice(i, i + 20_000);
    const { rows } = await pool.query<{ ok: boolean[] }>('select array_agg(mailroom.is_valid_address(a) order by n) as ok from unnest($1::text[]) with ordinality as t(a, n)', [batch]);
    batch.forEach((address, j) => {
      if (rows[0]!.ok[j] !== isValidAddress(address)) {
        disagreements.push(`${JSON.stringify(address)}: SQL ${rows[0]!.ok[j]}, TypeScript ${isValidAddress(address)}`);
      }
    });
  }
  expect(disagreements.slice(0, 20)).toEqual([]);
  // The ones the issue named, refused on both sides.
  // And every control character: DEL and the C1 controls passed on both sides before.
  for (const ch of ['\u00a0', '\ufeff', '\u2028', '\u3000', '\u007f', '\u0080', '\u009f']) {
    expect(isValidAddress(`a${ch}da@example.test`)).toBe(false);
    expect((await pool.query('select mailroom.is_valid_address($1) as ok', [`a${ch}da@example.test`])).rows[0].ok).toBe(false);
  }
}, 120_000);
