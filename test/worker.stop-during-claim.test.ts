// stop() while the relay's claim for its own idle senders is still running: the
// claim ends after stopping began and hands its rows over anyway. stop() must wait
// for that batch too, which releases the rows (back to pending, no attempt) instead
// of closing the pool under it and leaving them sending for the sweeper to call
// lost. Two table locks of the test's own hold the claim, then the batch's record
// (which writes mailroom.delivery_attempt; the claim and the mark only read it), so
// the batch outlasts the pool's closing. Both hand-overs: the claim that marks the
// rows itself, and, with a rate limit in play, the claim that leaves them queued
// for the batch's permits and mark.
import { describe, expect, it } from 'vitest';
import { enqueueEmail } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { startInProcessWorker, waitUntil } from './support/worker.ts';

const s = useScenario();

describe.each<{ handOver: string; env: Record<string, string> }>([
  { handOver: 'marked by the claim', env: {} },
  { handOver: 'queued for permits (a rate limit)', env: { RATE_LIMIT_TRANSPORTS: 'smtp:1000' } },
])('a worker stopped while its relay is inside a claim, rows $handOver', ({ env }) => {
  it('waits for the batch that claim hands over, and its rows end pending, untried', async () => {
    // The case before leaves its row pending by design: due at once, this worker would
    // claim it first, and this case's row would find its one sender slot busy.
    await s.pool.query('truncate mailroom.outbox cascade');
    // Due in a moment, so the relay's probe finds it only once the table is locked.
    const id = await enqueueEmail(s.pool, {
      template: 'account-confirm',
      to: 'late-claim@example.test',
      props: { token: 'token-0123456789abcdef' },
      sendAfter: new Date(Date.now() + 1_500),
    });
    const worker = await startInProcessWorker(s.env({ WORKER_CONCURRENCY: '1', WORKER_BATCH_SIZE: '1', ...env }));
    // Until one of the worker's statements containing `text` waits on a lock.
    const untilWaiting = (text: string, what: string) =>
      waitUntil(
        async () =>
          (
            await s.pool.query<{ n: number }>(
              `select count(*)::int as n from pg_stat_activity
                where datname = current_database() and application_name = 'mailroom-worker' and wait_event_type = 'Lock' and query like $1`,
              [`%${text}%`],
            )
          ).rows[0]!.n,
        (n) => n === 1,
        10_000,
        what,
      );
    const outbox = await s.pool.connect();
    const attempts = await s.pool.connect();
    try {
      // Reads of the outbox go on under this lock; the claim's UPDATE waits for it.
      await outbox.query('begin');
      await outbox.query('lock table mailroom.outbox in share row exclusive mode');
      // Reads of delivery_attempt go on under this lock; the record's insert waits for it.
      await attempts.query('begin');
      await attempts.query('lock table mailroom.delivery_attempt in exclusive mode');
      await untilWaiting('with room as', 'the relay claim waiting on the lock');
      let stopResolved = false;
      const stopped = worker.stop().then(() => (stopResolved = true));
      // Let stop() begin (stopping set, fetching off) before the claim goes on.
      await new Promise((r) => setTimeout(r, 300));
      await outbox.query('commit');
      await untilWaiting('with r as', 'the handed-over batch recording, waiting on the lock');
      // Longer than the pool is given to close (1 s): a stop() that did not wait for
      // the batch is over by now.
      await new Promise((r) => setTimeout(r, 1_500));
      expect(stopResolved).toBe(false);
      await attempts.query('commit');
      await stopped;
    } finally {
      // A failed wait must not hand a connection back with its lock still held.
      await outbox.query('rollback').catch(() => {});
      await attempts.query('rollback').catch(() => {});
      outbox.release();
      attempts.release();
    }
    const { rows } = await s.pool.query(
      `select status, job_id is null as no_job, lease_expires_at is null as no_lease,
              (select count(*)::int from mailroom.delivery_attempt a where a.outbox_id = o.id) as attempts
         from mailroom.outbox o where id = $1`,
      [id],
    );
    expect(rows[0]).toEqual({ status: 'pending', no_job: true, no_lease: true, attempts: 0 });
    expect(s.sink.messages.length).toBe(0);
  });
});
