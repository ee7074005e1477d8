// The lease on the row and the relay's back-pressure (issue 17): no more than
// RELAY_MAX_QUEUED rows wait in pg-boss while the senders are stuck, the rest stay
// due in the outbox, so an urgent email enqueued behind a backlog still goes out
// among the first; and the sweeper takes a row back by its lease alone, whatever
// pg-boss holds, leaving rows whose lease still runs.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sweepLostRows } from '../src/worker/sweeper.ts';
import { enqueueEmail } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { statusCounts, waitUntil } from './support/worker.ts';

const s = useScenario({
  worker: { WORKER_CONCURRENCY: '1', WORKER_BATCH_SIZE: '1', RELAY_MAX_QUEUED: '3', SMTP_TIMEOUT_MS: '1500', RETRY_BASE_MS: '50' },
});
const props = { token: 'token-0123456789abcdef' };

describe('back-pressure', () => {
  it('keeps at most RELAY_MAX_QUEUED rows queued while the sender is stuck, and an urgent email jumps the backlog', async () => {
    const stuck = Array.from({ length: 20 }, (_, i) => `stuck${i}@example.test`);
    for (const to of stuck) s.sink.respond(to, 'hang');
    const ids: string[] = [];
    for (const to of stuck) ids.push(await enqueueEmail(s.pool, { template: 'account-confirm', to, props, priority: 0 }));

    // While the one sender hangs on its first email: at most 3 queued, the rest due in the outbox.
    const seen: Record<string, number>[] = [];
    const started = Date.now();
    while (Date.now() - started < 1_000) {
      seen.push(await statusCounts(s.pool));
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(Math.max(...seen.map((c) => c.queued ?? 0))).toBeLessThanOrEqual(3);
    expect(Math.max(...seen.map((c) => c.queued ?? 0))).toBeGreaterThan(0);
    expect(Math.max(...seen.map((c) => c.sending ?? 0))).toBeLessThanOrEqual(1);
    expect(Math.min(...seen.map((c) => c.pending ?? 0))).toBeGreaterThanOrEqual(15);

    // An urgent email now, and the sink accepts everything again.
    const urgent = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'urgent@example.test', props, priority: 100 });
    for (const to of stuck) s.sink.respond(to, 'accept');
    await waitUntil(
      async () => (await s.pool.query(`select count(*)::int as n from mailroom.outbox where id = any($1) and status = 'sent'`, [[...ids, urgent]])).rows[0].n,
      (n) => n === 21,
      60_000,
      'all 21 sent',
    );
    const { rows } = await s.pool.query(`select id from mailroom.outbox where id = any($1) order by sent_at, id`, [[...ids, urgent]]);
    // Ahead of it at most the rows already queued (3) or being sent (1) when it came.
    expect(rows.findIndex((r) => r.id === urgent)).toBeLessThanOrEqual(4);
  });
});

describe('the lease on the row', () => {
  it('the sweeper takes back a row whose lease ran out, by the outbox alone, and leaves one whose lease runs', async () => {
    await s.worker.stop();
    const insert = (status: string, lease: string) =>
      s.pool
        .query<{ id: string }>(
          `insert into mailroom.outbox (template, recipient, props, status, attempts, job_id, queued_at, lease_expires_at)
           values ('account-confirm', 'lease@example.test', '{}', $1, 0, mailroom.uuid_v7(), now() - interval '1 minute', now() + $2::interval)
           returning id`,
          [status, lease],
        )
        .then((r) => r.rows[0]!.id);
    // None of them has a pg-boss job: only the lease decides.
    const lostSending = await insert('sending', '-1 second');
    const lostQueued = await insert('queued', '-1 second');
    const liveSending = await insert('sending', '1 hour');
    const liveQueued = await insert('queued', '1 hour');
    // The query operations.md gives for rows past their lease finds exactly those two.
    const section = readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8').split('## When a worker dies')[1]!.split('\n## ')[0]!;
    const query = /```sql\n([\s\S]*?)```/.exec(section)![1]!;
    const { rows: past } = await s.pool.query(query);
    expect(past.map((r) => [r.status, Number(r.count)]).sort()).toEqual([['queued', 1], ['sending', 1]]);
    const { requeued, fromSending } = await sweepLostRows(s.pool);
    expect({ requeued, fromSending }).toEqual({ requeued: 2, fromSending: 1 });
    const { rows } = await s.pool.query(
      `select id, status, attempts, job_id is null as no_job, lease_expires_at is null as no_lease from mailroom.outbox where id = any($1)`,
      [[lostSending, lostQueued, liveSending, liveQueued]],
    );
    const by = Object.fromEntries(rows.map((r) => [r.id, r]));
    expect(by[lostSending]).toMatchObject({ status: 'pending', attempts: 1, no_job: true, no_lease: true });
    expect(by[lostQueued]).toMatchObject({ status: 'pending', attempts: 0, no_job: true, no_lease: true });
    expect(by[liveSending]).toMatchObject({ status: 'sending', no_lease: false });
    expect(by[liveQueued]).toMatchObject({ status: 'queued', no_lease: false });
    const { rows: attempts } = await s.pool.query(`select attempt, outcome, error_class from mailroom.delivery_attempt where outbox_id = $1`, [lostSending]);
    expect(attempts).toEqual([{ attempt: 1, outcome: 'retry', error_class: 'ambiguous' }]);
  });
});
