// What a SQL producer has beside mailroom.enqueue(): a traceparent checked as the
// TypeScript path checks it, mailroom.enqueue_many(jsonb) writing a fan-out in one
// statement with all-or-nothing validation (errors name the element as enqueueMany()
// does: `2.props.token`), and mailroom.is_suppressed(address).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../src/index.ts';
import { enqueueEmails } from './support/mailroom.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

let database: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 3 });
});
afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const props = { name: 'Ada', token: 'sql-token-0123456789abcdef' };
const count = async () => (await pool.query<{ n: number }>('select count(*)::int as n from mailroom.outbox')).rows[0]!.n;

/** The SQL error's field, as a producer reads it from DETAIL. */
async function refusal(sql: string, values: unknown[]): Promise<{ field: string; message: string }> {
  try {
    await pool.query(sql, values);
  } catch (error) {
    const e = error as { code?: string; detail?: string; message: string };
    expect(e.code).toBe('22023');
    return { field: e.detail!.replace(/^field=/, ''), message: e.message };
  }
  throw new Error('expected a refusal');
}

describe('mailroom.enqueue(..., traceparent)', () => {
  it('stores a W3C traceparent with the row', async () => {
    const { rows } = await pool.query(
      `select mailroom.enqueue('account-confirm', 'trace@example.test', $1::jsonb, traceparent => $2) as id`,
      [JSON.stringify(props), TRACEPARENT],
    );
    const stored = await pool.query('select traceparent from mailroom.outbox where id = $1', [rows[0].id]);
    expect(stored.rows[0].traceparent).toBe(TRACEPARENT);
  });

  it('refuses a malformed one naming the field, and writes nothing', async () => {
    const before = await count();
    for (const bad of ['00-xyz', '00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01', `${TRACEPARENT}\n`]) {
      const { field } = await refusal(`select mailroom.enqueue('account-confirm', 'trace@example.test', $1::jsonb, traceparent => $2)`, [
        JSON.stringify(props),
        bad,
      ]);
      expect(field).toBe('traceparent');
    }
    expect(await count()).toBe(before);
  });

  it('refuses an empty idempotency key, as TypeScript does', async () => {
    const { field } = await refusal(`select mailroom.enqueue('account-confirm', 'key@example.test', $1::jsonb, idempotency_key => '')`, [JSON.stringify(props)]);
    expect(field).toBe('idempotency_key');
  });
});

describe('mailroom.enqueue_many(jsonb)', () => {
  const alert = (to: string, extra: Record<string, unknown> = {}) => ({
    template: 'activity-alert',
    to,
    props: { uploaderName: 'Ada', teamName: 'Engines', count: 2, kind: 'photo' },
    ...extra,
  });

  it('writes a fan-out in one statement and returns the ids in input order', async () => {
    const emails = [alert('fan-1@example.test'), alert('fan-2@example.test', { priority: 7, locale: 'fr', traceparent: TRACEPARENT }), alert('fan-3@example.test')];
    const { rows } = await pool.query<{ ids: string[] }>('select mailroom.enqueue_many($1::jsonb) as ids', [JSON.stringify(emails)]);
    const ids = rows[0]!.ids;
    expect(ids).toHaveLength(3);
    const written = await pool.query('select id, recipient, priority, locale, traceparent from mailroom.outbox where id = any($1)', [ids]);
    const byId = new Map(written.rows.map((r) => [r.id, r]));
    expect(ids.map((id) => byId.get(id)?.recipient)).toEqual(['fan-1@example.test', 'fan-2@example.test', 'fan-3@example.test']);
    expect(byId.get(ids[1])).toMatchObject({ priority: 7, locale: 'fr', traceparent: TRACEPARENT });
    expect(byId.get(ids[0])).toMatchObject({ priority: -10 }); // the template's
  });

  it('honours idempotency keys: an existing key gives that row id and writes nothing more', async () => {
    const first = await pool.query<{ ids: string[] }>('select mailroom.enqueue_many($1::jsonb) as ids', [JSON.stringify([alert('key-1@example.test', { idempotency_key: 'fan:1' })])]);
    const again = await pool.query<{ ids: string[] }>('select mailroom.enqueue_many($1::jsonb) as ids', [
      JSON.stringify([alert('key-1@example.test', { idempotency_key: 'fan:1' }), alert('key-2@example.test')]),
    ]);
    expect(again.rows[0]!.ids[0]).toBe(first.rows[0]!.ids[0]);
    expect((await pool.query(`select count(*)::int as n from mailroom.outbox where idempotency_key = 'fan:1'`)).rows[0].n).toBe(1);
  });

  it('refuses the whole fan-out on one bad email, naming it as enqueueMany() does, and writes nothing', async () => {
    const cases: { emails: unknown; field: string }[] = [
      { emails: [alert('ok@example.test'), alert('not-an-address')], field: '1.to' },
      { emails: [alert('ok@example.test'), alert('ok2@example.test'), { ...alert('x@example.test'), props: { uploaderName: 'Ada' } }], field: '2.props.teamName' },
      { emails: [{ ...alert('x@example.test'), template: 'no-such-email' }], field: '0.template' },
      { emails: [alert('x@example.test', { priority: 'high' })], field: '0.priority' },
      { emails: [alert('x@example.test', { send_after: 'soon' })], field: '0.send_after' },
      { emails: [alert('x@example.test', { colour: 'red' })], field: '0.colour' },
      { emails: [alert('x@example.test'), 'not an object'], field: '1' },
      { emails: [{ ...alert('x@example.test'), to: undefined }], field: '0.to' },
      { emails: { not: 'an array' }, field: 'emails' },
    ];
    for (const { emails, field } of cases) {
      const before = await count();
      const refused = await refusal('select mailroom.enqueue_many($1::jsonb)', [JSON.stringify(emails)]);
      expect(refused.field, refused.message).toBe(field);
      expect(await count()).toBe(before);
    }
  });

  it('names the same field as enqueueMany() in TypeScript for the same bad fan-out', async () => {
    const emails = [alert('ok@example.test'), alert('not-an-address')];
    const sql = await refusal('select mailroom.enqueue_many($1::jsonb)', [JSON.stringify(emails)]);
    const ts = await enqueueEmails(pool, emails as never).then(
      () => undefined,
      (error: ValidationError) => error,
    );
    expect(ts).toBeInstanceOf(ValidationError);
    expect(ts!.field).toBe(sql.field);
  });
});

describe('mailroom.is_suppressed(address)', () => {
  it('answers in the suppression list normal form, as the sender checks', async () => {
    await pool.query(`insert into mailroom.suppression (address, reason) values (mailroom.normalize_address('Élodie@Example.TEST'), 'test')`);
    const ask = async (address: string) => (await pool.query<{ s: boolean }>('select mailroom.is_suppressed($1) as s', [address])).rows[0]!.s;
    expect(await ask('élodie@example.test')).toBe(true);
    expect(await ask('ÉLODIE@EXAMPLE.TEST')).toBe(true);
    expect(await ask('elodie@example.test')).toBe(false);
  });
});
