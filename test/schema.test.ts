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
    'lease_expires_at',
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
    const { rows } = await pool.query(`explain (format json) ${CLAIM_DUE_ROWS}`, [200, 120, 2000]);
    const plan = JSON.stringify(rows[0]['QUERY PLAN']);
    expect(plan).toContain('outbox_due_idx');
    expect(plan).not.toContain('Seq Scan');
  });
});
