// Every bad input is refused with an error naming the field, and nothing is written:
// from TypeScript (enqueueEmail) and from SQL (mailroom.enqueue).
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createMailroom, defineConfig, defineTemplate, ValidationError } from '../src/index.ts';
import { enqueueEmail } from './support/mailroom.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

let database: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url });
});
afterAll(async () => {
  await pool?.end();
  await database?.drop();
});
beforeEach(async () => {
  await pool.query('truncate mailroom.outbox cascade');
});

const good = { token: 'token-0123456789abcdef' };
const rowCount = async () => (await pool.query('select count(*)::int as n from mailroom.outbox')).rows[0].n as number;

interface Case {
  name: string;
  field: string;
  input: Record<string, unknown>;
}

const cases: Case[] = [
  { name: 'an unknown template', field: 'template', input: { template: 'no-such-email', to: 'a@example.test', props: good } },
  { name: 'a malformed address', field: 'to', input: { template: 'account-confirm', to: 'not-an-address', props: good } },
  { name: 'an address with two @', field: 'to', input: { template: 'account-confirm', to: 'a@b@example.test', props: good } },
  { name: 'CR LF in the address', field: 'to', input: { template: 'account-confirm', to: 'a@example.test\r\nBcc: x@evil.test', props: good } },
  {
    name: 'CR LF in a prop that goes into the subject',
    field: 'props.name',
    input: { template: 'account-confirm', to: 'a@example.test', props: { ...good, name: 'Ada\r\nBcc: x@evil.test' } },
  },
  { name: 'a missing required prop', field: 'props.token', input: { template: 'account-confirm', to: 'a@example.test', props: {} } },
  {
    name: 'a prop of the wrong type',
    field: 'props.token',
    input: { template: 'account-confirm', to: 'a@example.test', props: { token: 42 } },
  },
  {
    name: 'props over 64 KiB',
    field: 'props',
    input: { template: 'account-confirm', to: 'a@example.test', props: { token: 'token-0123456789abcdef', expiresAt: '2026-12-01T12:00:00Z', pad: 'y'.repeat(70_000) } },
  },
  {
    name: 'a line break in the idempotency key',
    field: 'idempotencyKey',
    input: { template: 'account-confirm', to: 'a@example.test', props: good, idempotencyKey: 'a\nb' },
  },
  { name: 'a priority out of range', field: 'priority', input: { template: 'account-confirm', to: 'a@example.test', props: good, priority: 1000 } },
  {
    name: 'an invalid send_after',
    field: 'sendAfter',
    input: { template: 'account-confirm', to: 'a@example.test', props: good, sendAfter: new Date('nope') },
  },
];

describe('enqueueEmail() refuses bad input', () => {
  for (const c of cases) {
    it(`${c.name}: names ${c.field}, writes nothing`, async () => {
      const error = await enqueueEmail(pool, c.input as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe(c.field);
      expect(await rowCount()).toBe(0);
    });
  }

  it('writes nothing in a transaction that goes on after the refusal and commits', async () => {
    const client = await pool.connect();
    try {
      await client.query('begin');
      await enqueueEmail(client, { template: 'account-confirm', to: 'bad address', props: good }).catch(() => {});
      await client.query('commit');
    } finally {
      client.release();
    }
    expect(await rowCount()).toBe(0);
  });
});

interface SqlCase {
  name: string;
  field: string;
  args: [string, string, unknown, ...unknown[]];
}

const sqlCases: SqlCase[] = [
  { name: 'an unknown template', field: 'template', args: ['no-such-email', 'a@example.test', good] },
  { name: 'a malformed address', field: 'to', args: ['account-confirm', 'not-an-address', good] },
  { name: 'CR LF in the address', field: 'to', args: ['account-confirm', 'a@example.test\r\nBcc: x@evil.test', good] },
  { name: 'CR LF in a header prop', field: 'props.name', args: ['account-confirm', 'a@example.test', { ...good, name: 'A\nB' }] },
  { name: 'a missing required prop', field: 'props.token', args: ['account-confirm', 'a@example.test', {}] },
  { name: 'props that are not an object', field: 'props', args: ['account-confirm', 'a@example.test', [1, 2]] },
  { name: 'props over 64 KiB', field: 'props', args: ['account-confirm', 'a@example.test', { ...good, padding: 'y'.repeat(70_000) }] },
  { name: 'a priority out of range', field: 'priority', args: ['account-confirm', 'a@example.test', good, null, null, 500] },
];

describe('mailroom.enqueue() in SQL refuses bad input', () => {
  for (const c of sqlCases) {
    it(`${c.name}: names ${c.field}, writes nothing`, async () => {
      const [template, recipient, props, key = null, sendAfter = null, priority = null] = c.args;
      const error = await pool
        .query('select mailroom.enqueue($1, $2, $3::jsonb, $4, coalesce($5::timestamptz, now()), $6)', [
          template,
          recipient,
          JSON.stringify(props),
          key,
          sendAfter,
          priority,
        ])
        .catch((e: unknown) => e as pg.DatabaseError);
      expect(error).toBeInstanceOf(Error);
      expect((error as pg.DatabaseError).detail).toBe(`field=${c.field}`);
      expect((error as pg.DatabaseError).message).toMatch(/^mailroom\.enqueue: /);
      expect(await rowCount()).toBe(0);
    });
  }

  it('accepts a valid call and returns the new id', async () => {
    const { rows } = await pool.query(`select mailroom.enqueue('account-confirm', 'ok@example.test', $1::jsonb) as id`, [JSON.stringify(good)]);
    expect(rows[0].id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await rowCount()).toBe(1);
  });
});

describe('header props', () => {
  it('are refused with a line break from TypeScript even where the template schema allows one, as mailroom.enqueue() refuses them in SQL', async () => {
    const loose = defineConfig({
      templates: {
        'loose-subject': defineTemplate({
          schema: z.object({ name: z.string() }),
          subject: ({ name }) => `Hello ${name}`,
          component: () => null,
          previewProps: { name: 'Ada' },
          headerProps: ['name'],
        }),
      },
    });
    const mail = createMailroom(loose);
    for (const name of ['Ada\r\nBcc: x@example.test', 'Ada\nX-Injected: 1', 'Ada\r']) {
      expect(() => mail.validate({ template: 'loose-subject', to: 'a@example.test', props: { name } })).toThrow(
        expect.objectContaining({ field: 'props.name', message: 'props.name: goes into a header and contains a line break' }),
      );
    }
    expect(() => mail.validate({ template: 'loose-subject', to: 'a@example.test', props: { name: 'Ada Lovelace' } })).not.toThrow();
  });
});
