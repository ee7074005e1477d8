// The outbox promise: an email exists if and only if its transaction committed,
// and a committed one is delivered with its attempt on record.
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueEmail } from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';
import { startInProcessWorker, testEnv, waitUntil } from './support/worker.ts';
import type { RunningWorker } from '../src/cli/commands/worker.ts';

let database: TestDatabase;
let sink: SmtpSink;
let worker: RunningWorker;
let pool: pg.Pool;
let db: Kysely<any>;

beforeAll(async () => {
  database = await createTestDatabase();
  sink = await startSmtpSink();
  pool = new pg.Pool({ connectionString: database.url });
  db = new Kysely({ dialect: new PostgresDialect({ pool }) });
  await pool.query('create table app_token (id serial primary key, token_hash text not null)');
  worker = await startInProcessWorker(testEnv(database.url, sink.url));
});

afterAll(async () => {
  await worker?.stop();
  await db?.destroy();
  await sink?.close();
  await database?.drop();
});

const props = { name: 'Ada', token: 't0k3n-0123456789abcdef' };

describe('an email enqueued in the caller transaction', () => {
  it('leaves no row and sends no mail when the transaction rolls back', async () => {
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`insert into app_token (token_hash) values ('rolled-back-hash')`.execute(trx);
        await enqueueEmail(trx, { template: 'verify-email', to: 'rolled-back@example.test', props });
        throw new Error('the request failed after the enqueue');
      }),
    ).rejects.toThrow('the request failed after the enqueue');

    const { rows } = await pool.query(`select count(*)::int as n from mailroom.outbox where recipient = 'rolled-back@example.test'`);
    expect(rows[0].n).toBe(0);
    const tokens = await pool.query(`select count(*)::int as n from app_token`);
    expect(tokens.rows[0].n).toBe(0);
    // Give the relay several polls: nothing may arrive.
    await new Promise((r) => setTimeout(r, 500));
    expect(sink.messagesTo('rolled-back@example.test')).toHaveLength(0);
  });

  it('is sent once committed, with one attempt row holding the SMTP response', async () => {
    const id = await db.transaction().execute(async (trx) => {
      await sql`insert into app_token (token_hash) values ('committed-hash')`.execute(trx);
      return enqueueEmail(trx, { template: 'verify-email', to: 'committed@example.test', props });
    });
    const row = await waitUntil(
      async () => (await pool.query('select * from mailroom.outbox where id = $1', [id])).rows[0],
      (r) => r.status === 'sent',
      15_000,
      'the row to be sent',
    );
    expect(row.attempts).toBe(1);
    expect(row.sent_at).toBeInstanceOf(Date);

    const attempts = (await pool.query('select * from mailroom.delivery_attempt where outbox_id = $1', [id])).rows;
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ attempt: 1, transport: 'smtp', outcome: 'sent', response_code: 250 });
    expect(attempts[0].response).toMatch(/^250 /);

    const [message] = sink.messagesTo('committed@example.test');
    expect(message).toBeDefined();
    // The Message-ID is derived from the outbox id, so duplicates can be recognised downstream.
    expect(message!.messageId).toBe(`<${id}@mailroom.localhost>`);
    expect(message!.subject).toBe('Ada, confirm your email address');
    expect(message!.text).toContain('https://app.example/verify?token=t0k3n-0123456789abcdef');
    expect(message!.html).toContain('href="https://app.example/verify?token=t0k3n-0123456789abcdef"');
  });

  it('scrubs the token link from the row once sent, keeping the attempt history', async () => {
    const id = await enqueueEmail(pool, { template: 'verify-email', to: 'scrubbed@example.test', props });
    const row = await waitUntil(
      async () => (await pool.query('select status, props from mailroom.outbox where id = $1', [id])).rows[0],
      (r) => r.status === 'sent',
    );
    expect(row.props).toEqual({ name: 'Ada' });
    const { rows } = await pool.query('select count(*)::int as n from mailroom.delivery_attempt where outbox_id = $1', [id]);
    expect(rows[0].n).toBe(1);
  });
});
