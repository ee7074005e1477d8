// mailroom.enqueue() in SQL checks props against the template's own zod schema
// (issue 13): a SQL producer with a too-short token is refused at enqueue, naming
// props.token, instead of getting a row id and a row the worker fails later.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../src/index.ts';
import { enqueueEmail as enqueueFixture } from './support/mailroom.ts';
import { enqueueEmail as enqueueProduct } from './support/product.ts';
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

const rowCount = async () => (await pool.query('select count(*)::int as n from mailroom.outbox')).rows[0].n as number;

async function sqlEnqueue(template: string, props: unknown): Promise<{ id?: string; code?: string; detail?: string; message?: string }> {
  try {
    const { rows } = await pool.query('select mailroom.enqueue($1, $2, $3::jsonb) as id', [template, 'ada@example.test', JSON.stringify(props)]);
    return { id: rows[0].id as string };
  } catch (error) {
    const e = error as pg.DatabaseError;
    return { code: e.code, detail: e.detail, message: e.message };
  }
}

describe('a SQL producer meets the schema at enqueue', () => {
  type Enqueue = (db: pg.Pool, email: { template: string; to: string; props: unknown }) => Promise<string>;
  for (const [template, enqueue] of [['verify-email', enqueueProduct as unknown as Enqueue], ['account-confirm', enqueueFixture as unknown as Enqueue]] as const) {
    it(`${template}: a too-short token is refused with field=props.token, as TypeScript refuses it`, async () => {
      const before = await rowCount();
      const result = await sqlEnqueue(template, { token: 'short-token' });
      expect(result.id).toBeUndefined();
      expect(result.code).toBe('22023');
      expect(result.detail).toBe('field=props.token');
      expect(result.message).toContain(`template "${template}": props.token does not match the pattern`);

      const ts = await enqueue(pool, { template, to: 'ada@example.test', props: { token: 'short-token' } }).catch((e: unknown) => e);
      expect(ts).toBeInstanceOf(ValidationError);
      expect((ts as ValidationError).field).toBe('props.token');
      expect(await rowCount()).toBe(before);
    });

    it(`${template}: a token of 16 URL-safe characters is accepted by both`, async () => {
      const before = await rowCount();
      const result = await sqlEnqueue(template, { token: 'abcdefghij_-0123' });
      expect(result.code).toBeUndefined();
      expect(result.id).toMatch(/^[0-9a-f-]{36}$/);
      await enqueue(pool, { template, to: 'ada@example.test', props: { token: 'abcdefghij_-0123' } });
      expect(await rowCount()).toBe(before + 2);
    });
  }

  it('the stored check is there for every template of both catalogues, with its keys in the schema order', async () => {
    const { rows } = await pool.query(`select name, props_schema from mailroom.template order by name`);
    expect(rows.length).toBeGreaterThanOrEqual(17);
    for (const row of rows) expect(row.props_schema, row.name).not.toBeNull();
    const digest = rows.find((r) => r.name === 'digest')!.props_schema;
    expect(digest.properties.map((p: [string]) => p[0])).toEqual(['name', 'periodStart', 'periodEnd', 'circles']);
  });

  it('names nested fields as zod does, and the first failing key in the schema order', async () => {
    const circle = { id: 'c_1', name: 'Family', items: ['x'] };
    const base = { periodStart: '2026-11-21T00:00:00Z', periodEnd: '2026-11-28T00:00:00Z', circles: [circle] };
    const cases: [unknown, string][] = [
      [{ ...base, circles: [circle, { ...circle, id: 'has space' }] }, 'props.circles.1.id'],
      [{ ...base, circles: [circle, { ...circle, items: [''] }] }, 'props.circles.1.items.0'],
      [{ ...base, circles: [] }, 'props.circles'],
      // zod fails an array over its upper bound before it looks at any item.
      [{ ...base, circles: [{ ...circle, id: 'has space' }, ...Array.from({ length: 50 }, () => circle)] }, 'props.circles'],
      [{ ...base, circles: [{ ...circle, id: 'has space' }, ...Array.from({ length: 49 }, () => circle)] }, 'props.circles.0.id'],
      [{ ...base, periodStart: 'yesterday', circles: 'none' }, 'props.periodStart'],
      [{ ...base, name: '   ' }, 'props.name'], // trimmed, then too short: as zod
      [{ circles: [], periodEnd: 'x' }, 'props.periodStart'],
    ];
    for (const [props, field] of cases) {
      const sql = await sqlEnqueue('digest', props);
      const ts = await enqueueProduct(pool, { template: 'digest', to: 'ada@example.test', props: props as never }).catch((e: unknown) => e);
      expect([sql.detail, (ts as ValidationError).field], JSON.stringify(props)).toEqual([`field=${field}`, field]);
    }
  });

  it('counts lengths in characters, as this zod does, and trims as JavaScript does', async () => {
    // zod's min/max count code points (an emoji is one, not two UTF-16 units): 100 emoji are the longest name.
    const accepted = [`${'🙂'.repeat(100)}`, `\u00a0 ${'a'.repeat(100)}\ufeff`, 'é'.repeat(100)];
    const refused = [`${'🙂'.repeat(100)}a`, '\u3000\u2028 ', 'a'.repeat(101)];
    for (const name of accepted) {
      const sql = await sqlEnqueue('account-confirm', { token: 'abcdefghij_-0123', name });
      expect(sql.code, JSON.stringify(name)).toBeUndefined();
    }
    for (const name of refused) {
      const sql = await sqlEnqueue('account-confirm', { token: 'abcdefghij_-0123', name });
      expect(sql.detail, JSON.stringify(name)).toBe('field=props.name');
      const ts = await enqueueFixture(pool, { template: 'account-confirm', to: 'ada@example.test', props: { token: 'abcdefghij_-0123', name } }).catch((e: unknown) => e);
      expect((ts as ValidationError).field, `${JSON.stringify(name)}: ${String(ts)}`).toBe('props.name');
    }
  });

  it('checks the output side of a pipe (invitation-declined: the invitee address is z.email())', async () => {
    const props = { inviteeEmail: 'not an address', circleName: 'Family', circleId: 'c_1' };
    expect((await sqlEnqueue('invitation-declined', props)).detail).toBe('field=props.inviteeEmail');
    expect((await sqlEnqueue('invitation-declined', { ...props, inviteeEmail: 'charles@example.com' })).code).toBeUndefined();
  });
});
