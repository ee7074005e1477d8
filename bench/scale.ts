// Issue #7 target 4: the enqueue, throughput and latency benchmarks on an empty
// outbox, then again beside a million historical rows (sent, each with its
// attempt, spread over the last 60 days), on the same database in the same run.
// The hot paths read partial indexes, so history should cost (almost) nothing.
import pg from 'pg';
import { benchEnqueue, type EnqueueFigures } from './enqueue.ts';
import type { BenchDatabase } from './support/database.ts';
import { round } from './support/stats.ts';
import { benchThroughput, type ThroughputFigures } from './throughput.ts';

export interface ScaleFigures {
  historyRows: number;
  seedSeconds: number;
  empty: { enqueue: EnqueueFigures[]; throughput: ThroughputFigures };
  withHistory: { enqueue: EnqueueFigures[]; throughput: ThroughputFigures };
  /** with history / empty, per figure (1.0 = unchanged; the target is within 1.1x). */
  ratios: Record<string, number>;
}

/** A million-row history in a few statements, then ANALYZE so plans see it. */
export async function seedHistory(pool: pg.Pool, rows: number): Promise<void> {
  const chunk = 250_000;
  for (let from = 1; from <= rows; from += chunk) {
    const to = Math.min(rows, from + chunk - 1);
    await pool.query(
      `with o as (
         insert into mailroom.outbox (template, recipient, props, status, attempts, created_at, updated_at, send_after, queued_at, sent_at)
         select case when g % 7 = 0 then 'password-reset' else 'verify-email' end,
                'history' || g || '@example.test', '{"name": "Ada"}'::jsonb, 'sent', 1,
                t, t, t, t + interval '20 ms', t + interval '40 ms'
           from generate_series($1::int, $2::int) g,
                lateral (select now() - interval '2 days' - (g % 5000000) * interval '1 second' as t) ts
         returning id, sent_at)
       insert into mailroom.delivery_attempt (outbox_id, attempt, transport, outcome, started_at, finished_at)
       select id, 1, 'smtp', 'sent', sent_at - interval '10 ms', sent_at from o`,
      [from, to],
    );
  }
  await pool.query('vacuum analyze mailroom.outbox');
  await pool.query('vacuum analyze mailroom.delivery_attempt');
}

export async function benchScale(
  database: BenchDatabase,
  options: { historyRows: number; seconds: number; rounds: number; emails: number; latencySeconds: number },
): Promise<ScaleFigures> {
  const run = async () => ({
    enqueue: await benchEnqueue(database, { seconds: options.seconds, rounds: options.rounds }),
    throughput: await benchThroughput(database, { emails: options.emails, latencySeconds: options.latencySeconds }),
  });
  const empty = await run();
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  const seedStart = performance.now();
  try {
    await seedHistory(pool, options.historyRows);
  } finally {
    await pool.end();
  }
  const seedSeconds = round((performance.now() - seedStart) / 1000, 1);
  const withHistory = await run();

  const ratios: Record<string, number> = {};
  for (const clients of [1, 16]) {
    for (const variant of ['token only', 'token + enqueueEmail'] as const) {
      const pick = (figures: EnqueueFigures[]) => figures.find((f) => f.clients === clients && f.variant === variant)!;
      ratios[`enqueue ${variant}, ${clients} client(s): p50`] = round(pick(withHistory.enqueue).p50Ms / pick(empty.enqueue).p50Ms, 2);
      ratios[`enqueue ${variant}, ${clients} client(s): per second`] = round(pick(withHistory.enqueue).perSecond / pick(empty.enqueue).perSecond, 2);
    }
  }
  ratios['throughput emails/s'] = round(withHistory.throughput.mailroomPerSecond / empty.throughput.mailroomPerSecond, 2);
  ratios['throughput vs its baseline'] = round(withHistory.throughput.ratio / empty.throughput.ratio, 2);
  ratios['latency p50'] = round(withHistory.throughput.latency.p50Ms / empty.throughput.latency.p50Ms, 2);
  ratios['latency p99'] = round(withHistory.throughput.latency.p99Ms / empty.throughput.latency.p99Ms, 2);
  return { historyRows: options.historyRows, seedSeconds, empty, withHistory, ratios };
}
