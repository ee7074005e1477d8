// The sweeper and the chart rollups run on timers. A sweep waiting on a lock (a
// migration, a long transaction on mailroom.delivery_attempt) must not be joined by
// another at every tick, each holding one of the worker's few pool connections,
// until the senders have none left to record a send with. Here the sweeper ticks
// every 100 ms while a lock of the test's own holds delivery_attempt for 2 s; then
// an email enqueued meanwhile must still be sent and recorded.
import { describe, expect, it } from 'vitest';
import { enqueueEmail } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { waitUntil } from './support/worker.ts';

const s = useScenario({ worker: { SWEEP_INTERVAL_MS: '100', WORKER_CONCURRENCY: '1' } });

const waitingSweeps = async () =>
  (
    await s.pool.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity
        where datname = current_database() and application_name = 'mailroom-worker' and wait_event_type = 'Lock'
          and query like '%with lost as%'`,
    )
  ).rows[0]!.n;

describe('a sweep held up by a lock', () => {
  it('is not joined by another at every tick, and the worker still records its sends afterwards', async () => {
    const locker = await s.pool.connect();
    let most = 0;
    try {
      await locker.query('begin');
      // Reads go on; every insert into delivery_attempt (the sweep's, the record's) waits.
      await locker.query('lock table mailroom.delivery_attempt in exclusive mode');
      const until = Date.now() + 2_000;
      while (Date.now() < until) {
        most = Math.max(most, await waitingSweeps());
        await new Promise((r) => setTimeout(r, 50));
      }
      await locker.query('commit');
    } finally {
      await locker.query('rollback').catch(() => {});
      locker.release();
    }
    expect(most).toBe(1);
    const id = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'after-lock@example.test', props: { token: 'token-0123456789abcdef' } });
    await waitUntil(
      async () => (await s.pool.query('select status from mailroom.outbox where id = $1', [id])).rows[0].status,
      (status) => status === 'sent',
      10_000,
      'sent after the lock',
    );
  });
});
