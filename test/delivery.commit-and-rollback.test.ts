// The outbox promise: an email exists if and only if its transaction committed,
// and a committed one is delivered with its attempt on record.
import { Kysely, PostgresDialect, sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { enqueueEmail } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { waitUntil } from './support/worker.ts';

const s = useScenario({ worker: true });
// The application's view: Kysely over the same pool (the scenario ends the pool).
let db: Kysely<any>;

beforeAll(async () => {
  db = new Kysely({ dialect: new PostgresDialect({ pool: s.pool }) });
  await s.pool.query('create table app_token (id serial primary key, token_hash text not null)');
});

const props = { name: 'Ada', token: 't0k3n-0123456789abcdef' };

describe('an email enqueued in the caller transaction', () => {
  it('leaves no row and sends no mail when the transaction rolls back', async () => {
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`insert into app_token (token_hash) values ('rolled-back-hash')`.execute(trx);
        await enqueueEmail(trx, { template: 'account-confirm', to: 'rolled-back@example.test', props });
        throw new Error('the request failed after the enqueue');
      }),
    ).rejects.toThrow('the request failed after the enqueue');

    const { rows } = await s.pool.query(`select count(*)::int as n from mailroom.outbox where recipient = 'rolled-back@example.test'`);
    expect(rows[0].n).toBe(0);
    const tokens = await s.pool.query(`select count(*)::int as n from app_token`);
    expect(tokens.rows[0].n).toBe(0);
    // Give the relay several polls: nothing may arrive.
    await new Promise((r) => setTimeout(r, 500));
    expect(s.sink.messagesTo('rolled-back@example.test')).toHaveLength(0);
  });

  it('is sent once committed, with one attempt row holding the SMTP response', async () => {
    const id = await db.transaction().execute(async (trx) => {
      await sql`insert into app_token (token_hash) values ('committed-hash')`.execute(trx);
      return enqueueEmail(trx, { template: 'account-confirm', to: 'committed@example.test', props });
    });
    const row = await waitUntil(
      async () => (await s.pool.query('select * from mailroom.outbox where id = $1', [id])).rows[0],
      (r) => r.status === 'sent',
      15_000,
      'the row to be sent',
    );
    expect(row.attempts).toBe(1);
    expect(row.sent_at).toBeInstanceOf(Date);

    const attempts = (await s.pool.query('select * from mailroom.delivery_attempt where outbox_id = $1', [id])).rows;
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ attempt: 1, transport: 'smtp', outcome: 'sent', response_code: 250 });
    expect(attempts[0].response).toMatch(/^250 /);

    const [message] = s.sink.messagesTo('committed@example.test');
    expect(message).toBeDefined();
    // The Message-ID is derived from the outbox id, so duplicates can be recognised downstream.
    expect(message!.messageId).toBe(`<${id}@mailroom.localhost>`);
    expect(message!.subject).toBe('Ada, confirm your email address');
    expect(message!.text).toContain('https://app.example/verify?token=t0k3n-0123456789abcdef');
    expect(message!.html).toContain('href="https://app.example/verify?token=t0k3n-0123456789abcdef"');
  });

  it('scrubs the token link from the row once sent, keeping the attempt history', async () => {
    const id = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'scrubbed@example.test', props });
    const row = await waitUntil(
      async () => (await s.pool.query('select status, props from mailroom.outbox where id = $1', [id])).rows[0],
      (r) => r.status === 'sent',
    );
    expect(row.props).toEqual({ name: 'Ada' });
    const { rows } = await s.pool.query('select count(*)::int as n from mailroom.delivery_attempt where outbox_id = $1', [id]);
    expect(rows[0].n).toBe(1);
  });
});
