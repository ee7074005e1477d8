// The schema as the code assumes it: the Kysely row types name real columns, the
// template catalogue is synced, and the relay's claim reads the partial index of
// due rows, whatever the size of the history.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/migrate.ts';
import { CLAIM_DUE_ROWS } from '../src/relay/claim.ts';
import { requiredProps } from '../src/templates/catalogue.ts';
import { templateNames } from './support/mailroom.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { catalogue, config } from './support/mailroom.ts';

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

// Columns each table must have, as declared in src/db/types.ts.
const expectedColumns: Record<string, string[]> = {
  outbox: [
    'id', 'template', 'recipient', 'props', 'locale', 'status', 'attempts', 'max_attempts', 'idempotency_key', 'priority',
    'send_after', 'not_after', 'created_at', 'queued_at', 'sent_at', 'job_id', 'last_error', 'provider_message_id', 'updated_at', 'traceparent', 'reply_to', 'tags',
    'lease_expires_at', 'phase',
  ],
  delivery_attempt: [
    'id', 'outbox_id', 'attempt', 'transport', 'outcome', 'error_class', 'provider_message_id', 'message_id', 'response_code',
    'response', 'error_message', 'started_at', 'finished_at', 'sent_to', 'counted',
  ],
  template: ['name', 'required_props', 'header_props', 'prop_types', 'props_schema', 'priority', 'max_attempts', 'ttl', 'updated_at'],
  suppression: ['address', 'reason', 'source', 'created_at'],
};

describe('the mailroom schema', () => {
  it('has every column the row types name', async () => {
    const { rows } = await pool.query<{ table_name: string; column_name: string }>(
      `select table_name, column_name from information_schema.columns where table_schema = 'mailroom'`,
    );
    for (const [table, columns] of Object.entries(expectedColumns)) {
      const actual = rows.filter((r) => r.table_name === table).map((r) => r.column_name).sort();
      expect(actual, table).toEqual([...columns].sort());
    }
  });

  it('holds the template catalogue of the code, with required props from each zod schema', async () => {
    const { rows } = await pool.query('select name, required_props, header_props, max_attempts, priority from mailroom.template order by name');
    // The test databases hold the library's fixture catalogue (and the product's, for its own tests).
    expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining([...templateNames]));
    const verify = rows.find((r) => r.name === 'account-confirm');
    expect(verify.required_props).toEqual(requiredProps(catalogue['account-confirm']));
    expect(verify.required_props).toEqual(['token']);
    expect(verify.header_props).toEqual(['name']);
  });

  it('migrates idempotently: a second run applies nothing', async () => {
    expect((await migrate({ databaseUrl: database.url, config, appMigrations: false })).applied).toEqual([]);
  });

  it("claims due rows through the partial index, not by scanning the history", async () => {
    await pool.query(
      `insert into mailroom.outbox (template, recipient, props, status, sent_at)
       select 'account-confirm', 'old' || g || '@example.test', '{}', 'sent', now() from generate_series(1, 50000) g`,
    );
    await pool.query(
      `insert into mailroom.outbox (template, recipient, props)
       select 'account-confirm', 'due' || g || '@example.test', '{}' from generate_series(1, 20) g`,
    );
    await pool.query('analyze mailroom.outbox');
    const { rows } = await pool.query(`explain (format json) ${CLAIM_DUE_ROWS}`, [200, 120, 2000, null]);
    const plan = JSON.stringify(rows[0]['QUERY PLAN']);
    expect(plan).toContain('outbox_due_idx');
    expect(plan).not.toContain('Seq Scan');
  });

  // migrations/0024: a flip from queued to sending (the lease renewed) changes no
  // indexed value, so PostgreSQL can make it a HOT update, written in place with
  // no new index entries; handing off and settling still leave their indexes.
  it('names neither status nor the lease in any outbox index, so marking a row sending can be HOT', async () => {
    const { rows: named } = await pool.query<{ index: string }>(
      `select i.indexrelid::regclass::text as index
         from pg_index i
         join pg_attribute a on a.attrelid = i.indrelid and a.attname in ('status', 'lease_expires_at')
        where i.indrelid = 'mailroom.outbox'::regclass
          and (a.attnum = any (i.indkey::int2[])
               or pg_get_expr(i.indexprs, i.indrelid) ~ ('\\m' || a.attname || '\\M')
               or pg_get_expr(i.indpred, i.indrelid) ~ ('\\m' || a.attname || '\\M'))`,
    );
    expect(named).toEqual([]);

    const client = await pool.connect();
    try {
      await client.query('begin');
      const { rows } = await client.query<{ id: string }>(
        `insert into mailroom.outbox (template, recipient, props, status, job_id, queued_at, lease_expires_at)
         select 'account-confirm', 'hot' || g || '@example.test', '{}', 'queued', gen_random_uuid(), now(), now() + interval '2 minutes'
           from generate_series(1, 5) g returning id`,
      );
      const hot = async () =>
        (await client.query<{ upd: string; hot: string }>(`select n_tup_upd as upd, n_tup_hot_upd as hot from pg_stat_xact_user_tables where relid = 'mailroom.outbox'::regclass`)).rows[0]!;
      const before = await hot();
      await client.query(
        `update mailroom.outbox set status = 'sending', lease_expires_at = now() + interval '2 minutes', updated_at = now() where id = any($1::uuid[])`,
        [rows.map((r) => r.id)],
      );
      const marked = await hot();
      expect(Number(marked.upd) - Number(before.upd)).toBe(5);
      expect(Number(marked.hot) - Number(before.hot)).toBe(5);
      const phases = await client.query(`select distinct phase from mailroom.outbox where id = any($1::uuid[])`, [rows.map((r) => r.id)]);
      expect(phases.rows).toEqual([{ phase: 'in flight' }]);
      // Settling changes the phase: the row leaves the in-flight set, not HOT.
      await client.query(`update mailroom.outbox set status = 'sent', sent_at = now(), lease_expires_at = null where id = any($1::uuid[])`, [rows.map((r) => r.id)]);
      const settled = await hot();
      expect(Number(settled.hot) - Number(marked.hot)).toBe(0);
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});
