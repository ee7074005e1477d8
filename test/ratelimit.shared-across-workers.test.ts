// RATE_LIMIT_DOMAINS holds across worker processes: two workers, each with its own
// pool, share one token bucket in PostgreSQL. Rows over the limit are not sent and
// not waited for: they go back to `pending` with send_after at their turn, no
// attempt counted. Timing checks are windows with generous margins, not exact
// figures: the machine is shared and loaded.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import type { RunningWorker } from '../src/cli/commands/worker.ts';
import { enqueueEmail } from './support/mailroom.ts';
import { takeSendPermits } from '../src/ratelimit/permits-sql.ts';
import { useScenario } from './support/scenario.ts';
import { startInProcessWorker, waitUntil } from './support/worker.ts';

const s = useScenario();

/** The most timestamps that fall in any window of `ms` milliseconds. */
function busiestWindow(times: number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('a domain limit shared by two workers', () => {
  it('sends 40 emails to a domain limited to 10/s over seconds, never much above the limit in any second, none lost or charged', async () => {
    const RATE = 10; // burst: one second's worth
    const COUNT = 40;
    // Both workers enqueue nothing themselves; give each its own Message-ID domain so the
    // sink can tell which worker sent what. A relay that found mail polls every 2 ms, an
    // idle one every RELAY_POLL_MS (50): the worker that claimed first would then win
    // nearly every row as it comes due again, and the other might send none. At 5 ms
    // both take part.
    const env = (n: number) => s.env({ RATE_LIMIT_DOMAINS: `limited.example:${RATE}`, MESSAGE_ID_DOMAIN: `worker${n}.test`, RELAY_POLL_MS: '5' });

    // Stopped inside the test, before the scenario drops the database under them.
    const workers: RunningWorker[] = [await startInProcessWorker(env(1)), await startInProcessWorker(env(2))];
    try {
      // Warm up first (templates rendered once, SMTP connections open), so the first
      // permits are not delivered late and squeezed into the following second.
      for (let i = 0; i < 8; i++) await enqueueEmail(s.pool, { template: 'account-confirm', to: `warm${i}@free.example`, props: { token: `token-${i}-0123456789abcdef` } });
      await s.sink.waitFor(8, 20_000);

      const ids: string[] = [];
      const client = await s.pool.connect();
      try {
        await client.query('begin');
        for (let i = 0; i < COUNT; i++) {
          ids.push(await enqueueEmail(client, { template: 'account-confirm', to: `user${i}@limited.example`, props: { token: `token-${i}-0123456789abcdef` } }));
        }
        // Mail to other domains is not held back by this domain's limit.
        for (let i = 0; i < 5; i++) {
          ids.push(await enqueueEmail(client, { template: 'account-confirm', to: `user${i}@free.example`, props: { token: `token-${i}-0123456789abcdef` } }));
        }
        await client.query('commit');
      } finally {
        client.release();
      }

      // While the limit holds rows back, they are visibly waiting, with the reason.
      const waiting = await waitUntil(
        async () =>
          (
            await s.pool.query<{ status: string; attempts: number; last_error: string }>(
              `select status, attempts, last_error from mailroom.outbox where recipient like '%@limited.example' and status = 'pending' and last_error is not null limit 1`,
            )
          ).rows[0],
        (row) => row !== undefined,
        20_000,
        'a rate-limited row waiting',
      );
      expect(waiting).toEqual({ status: 'pending', attempts: 0, last_error: 'rate limited (domain limited.example)' });

      await s.sink.waitFor((messages) => messages.filter((m) => m.to.endsWith('@limited.example')).length >= COUNT, 60_000);
      const rows = await waitUntil(
        async () => (await s.pool.query(`select status, attempts, (select count(*)::int from mailroom.delivery_attempt a where a.outbox_id = o.id) as tries from mailroom.outbox o where id = any($1)`, [ids])).rows,
        (rows) => rows.every((r) => r.status === 'sent'),
        20_000,
        'every row sent',
      );
      const limited = s.sink.messages.filter((m) => m.to.endsWith('@limited.example'));
      const free = s.sink.messages.filter((m) => /^user\d+@free\.example$/.test(m.to));
      const times = limited.map((m) => m.receivedAt.getTime());

      // 40 at 10/s with a burst of 10: ideally 3 s from the first try to the last, and at
      // most burst + rate (20) in any second. Unlimited, the same 40 take well under a
      // second here. The tries' start times are when permits were used; the sink's
      // receive times add send latency (the burst's sends are the slowest: up to a
      // second behind under load: the sink parses each message on this same event
      // loop), so they get wide margins.
      const { rows: tries } = await s.pool.query<{ ms: number }>(
        `select extract(epoch from a.started_at) * 1000 as ms from mailroom.delivery_attempt a join mailroom.outbox o on o.id = a.outbox_id where o.recipient like '%@limited.example'`,
      );
      const started = tries.map((t) => Number(t.ms));
      const spanOf = (values: number[]) => Math.max(...values) - Math.min(...values);
      expect(spanOf(started)).toBeGreaterThanOrEqual(2_600);
      expect(busiestWindow(started, 1_000)).toBeLessThanOrEqual(2 * RATE + 2);
      expect(spanOf(times)).toBeGreaterThanOrEqual(1_500);
      expect(busiestWindow(times, 1_000)).toBeLessThanOrEqual(3 * RATE);
      // The free domain went out at once, not behind the limited ones.
      expect(free).toHaveLength(5);
      expect(Math.max(...free.map((m) => m.receivedAt.getTime()))).toBeLessThan(Math.max(...times));

      // Both workers sent: the limit held across them, not inside one.
      const byWorker = (n: number) => limited.filter((m) => m.messageId.endsWith(`@worker${n}.test>`)).length;
      expect(byWorker(1) + byWorker(2)).toBe(COUNT);
      expect(byWorker(1)).toBeGreaterThan(0);
      expect(byWorker(2)).toBeGreaterThan(0);

      // Each email once, each with exactly one attempt: waiting for a permit is not a try.
      expect(new Set(limited.map((m) => m.to)).size).toBe(COUNT);
      expect(rows.filter((r) => r.attempts !== 1 || r.tries !== 1)).toEqual([]);

      const { rows: bucket } = await s.pool.query(`select rate, burst from mailroom.rate_limit where key = 'domain:limited.example'`);
      expect(bucket).toEqual([{ rate: RATE, burst: RATE }]);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  });
});

describe('the permit function under concurrent batches', () => {
  it('never grants more than the bucket holds, and queues the refused rows of two batches behind each other', async () => {
    // Two connections, as two workers' batches would hold. Clients, not pools: a pool's
    // end() does not wait for its sockets, and the file's database drop would then hit one.
    const clients = [new pg.Client({ connectionString: s.database.url }), new pg.Client({ connectionString: s.database.url })];
    await Promise.all(clients.map((c) => c.connect()));
    try {
      const RATE = 5;
      const rows = Array.from({ length: 20 }, () => ({ transport: 1, domain: 2 }));
      const buckets = { keys: ['transport:smtp', 'domain:queue.example'], rates: [null, RATE] };
      const [a, b] = await Promise.all(clients.map((client) => takeSendPermits(client, buckets, rows, 30_000)));
      const answers = [...a!, ...b!];
      const granted = answers.filter((x) => x.permitted).length;
      // A fresh bucket holds one second's worth; the two calls run within moments of each other.
      expect(granted).toBeGreaterThanOrEqual(RATE);
      expect(granted).toBeLessThanOrEqual(RATE + 1);
      const waits = answers.filter((x) => !x.permitted).map((x) => x.wait_ms).sort((x, y) => x - y);
      expect(waits).toHaveLength(40 - granted);
      // Distinct turns, one per 1/RATE s: the second batch lines up after the first's.
      for (let i = 1; i < waits.length; i++) expect(waits[i]! - waits[i - 1]!).toBeGreaterThan(1000 / RATE - 50);
      expect(answers.filter((x) => !x.permitted).every((x) => x.reason === 'rate limited (domain queue.example)')).toBe(true);
      const { rows: bucket } = await s.pool.query(`select last_demand, promised_until > now() + interval '5 seconds' as far from mailroom.rate_limit where key = 'domain:queue.example'`);
      expect(bucket[0]).toMatchObject({ last_demand: 20, far: true });
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });
});
