// `mailroom purge` through the real CLI: settled rows past their age go (with
// their attempts) in batches, rows still in flight or young stay, unsent rows lose
// their tokens, a dry run changes nothing, and bad flags are named.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { runCli } from './support/worker.ts';

let database: TestDatabase;
let pool: pg.Pool;
const env = () => ({ DATABASE_URL: database.url, LOG_LEVEL: 'silent' });

/** One row as it would look after `days` ago it was created and settled. */
async function seed(label: string, status: string, daysAgo: number, attempts = 0): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `insert into mailroom.outbox (template, recipient, props, status, created_at, updated_at, send_after, sent_at)
     values ('account-confirm', $1, $2, $3, now() - $4 * interval '1 day', now() - $4 * interval '1 day',
             now() - $4 * interval '1 day', case when $3 = 'sent' then now() - $4 * interval '1 day' end)
     returning id`,
    [`${label}@example.test`, JSON.stringify({ name: label, token: `secret-${label}-0123456789` }), status, daysAgo],
  );
  const id = rows[0]!.id;
  for (let a = 1; a <= attempts; a++) {
    await pool.query(
      `insert into mailroom.delivery_attempt (outbox_id, attempt, transport, outcome, started_at) values ($1, $2, 'smtp', 'retry', now())`,
      [id, a],
    );
  }
  return id;
}

const recipients = async () =>
  (await pool.query<{ recipient: string }>('select recipient from mailroom.outbox order by recipient')).rows.map((r) => r.recipient.split('@')[0]);

beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url });
  for (let i = 0; i < 5; i++) await seed(`old-sent-${i}`, 'sent', 40, 2);
  await seed('young-sent', 'sent', 10, 1);
  await seed('old-failed', 'failed', 100, 3);
  await seed('old-cancelled', 'cancelled', 100);
  await seed('mid-failed', 'failed', 60, 3);
  await seed('young-failed', 'failed', 2, 1);
  await seed('old-pending', 'pending', 100); // still waiting: never purged
});

afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

describe('mailroom purge', () => {
  it('--dry-run counts what would change and changes nothing', async () => {
    const before = await recipients();
    const { code, output } = await runCli(['purge', '--dry-run', '--json'], env());
    expect(code, output).toBe(0);
    expect(JSON.parse(output)).toEqual({ dryRun: true, sent: 5, failed: 2, scrubbed: 1 + 2 });
    expect(await recipients()).toEqual(before);
  });

  it('deletes old settled rows with their attempts, in batches, and scrubs tokens from unsent ones', async () => {
    const { code, output } = await runCli(['purge', '--sent-older-than', '30d', '--failed-older-than', '90d', '--batch-size', '2', '--json'], env());
    expect(code, output).toBe(0);
    // Scrubbing runs after the deletes: only mid-failed is left of the old unsent rows.
    expect(JSON.parse(output)).toEqual({ dryRun: false, sent: 5, failed: 2, scrubbed: 1 });
    expect(await recipients()).toEqual(['mid-failed', 'old-pending', 'young-failed', 'young-sent']);
    const { rows: orphans } = await pool.query(
      'select count(*)::int as n from mailroom.delivery_attempt a where not exists (select 1 from mailroom.outbox o where o.id = a.outbox_id)',
    );
    expect(orphans[0].n).toBe(0);
    const { rows: attempts } = await pool.query('select count(*)::int as n from mailroom.delivery_attempt');
    expect(attempts[0].n).toBe(1 + 3 + 1);

    const props = Object.fromEntries(
      (await pool.query<{ recipient: string; props: Record<string, unknown> }>('select recipient, props from mailroom.outbox')).rows.map((r) => [r.recipient.split('@')[0], r.props]),
    );
    expect(props['mid-failed']).toEqual({ name: 'mid-failed' }); // the token is gone, the rest stays for audit
    expect(props['young-failed']).toHaveProperty('token'); // still replayable
    expect(props['old-pending']).toHaveProperty('token'); // never touched while in flight
  });

  it('running again finds nothing more to do', async () => {
    const { code, output } = await runCli(['purge', '--json'], env());
    expect(code, output).toBe(0);
    expect(JSON.parse(output)).toEqual({ dryRun: false, sent: 0, failed: 0, scrubbed: 0 });
  });

  it.each([
    [['--sent-older-than', '30 days'], '--sent-older-than'],
    [['--failed-older-than', '-1d'], '--failed-older-than'],
    [['--scrub-older-than', "1d'; drop table mailroom.outbox; --"], '--scrub-older-than'],
    [['--batch-size', '0'], '--batch-size'],
  ])('refuses %j, naming the flag, and changes nothing', async (args, flag) => {
    const before = await recipients();
    const { code, output } = await runCli(['purge', ...args], env());
    expect(code).not.toBe(0);
    expect(output).toContain(flag);
    expect(await recipients()).toEqual(before);
  });
});
