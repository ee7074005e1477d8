// The enqueue's cost inside an application transaction: the same transaction
// (insert a token, commit) with and without enqueueEmail(), at 1 and 16 clients.
// Variants alternate in rounds so that machine noise hits both alike.
import pg from 'pg';
import { enqueueEmail } from '../test/support/product.ts';
import type { BenchDatabase } from './support/database.ts';
import { clearRecentRows } from './support/outbox.ts';
import { alternatingRounds } from './support/stats.ts';

export interface EnqueueFigures {
  clients: number;
  variant: 'token only' | 'token + enqueueEmail';
  transactions: number;
  perSecond: number;
  p50Ms: number;
  p95Ms: number;
}

async function runVariant(pool: pg.Pool, clients: number, withEnqueue: boolean, seconds: number, counter: { n: number }) {
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const client = await pool.connect();
      try {
        while (performance.now() < deadline) {
          const i = counter.n++;
          const started = performance.now();
          await client.query('begin');
          const { rows } = await client.query<{ id: string }>(
            `insert into bench_token (user_id, token_hash, expires_at) values ($1::bigint, md5($1::bigint::text), now() + interval '1 day') returning id`,
            [i],
          );
          if (withEnqueue) {
            await enqueueEmail(client, {
              template: 'verify-email',
              to: `user${i}@example.test`,
              props: { name: 'Ada', token: `bench-token-${String(i).padStart(12, '0')}` },
              idempotencyKey: `verify:${rows[0]!.id}`,
            });
          }
          await client.query('commit');
          latencies.push(performance.now() - started);
        }
      } finally {
        client.release();
      }
    }),
  );
  return latencies;
}

export async function benchEnqueue(database: BenchDatabase, options: { seconds: number; rounds: number }): Promise<EnqueueFigures[]> {
  const pool = new pg.Pool({ connectionString: database.url, max: 16 });
  await pool.query(
    'create table if not exists bench_token (id bigserial primary key, user_id bigint not null, token_hash text not null, expires_at timestamptz not null)',
  );
  const counter = { n: 0 };
  const figures: EnqueueFigures[] = [];
  try {
    for (const clients of [1, 16]) {
      // Warm-up: connections, plans, the template's zod schema.
      await runVariant(pool, clients, true, 1, counter);
      const measured = await alternatingRounds(options.rounds, (variant) => runVariant(pool, clients, variant === 'with', options.seconds, counter));
      for (const key of ['without', 'with'] as const) {
        const m = measured[key];
        figures.push({
          clients,
          variant: key === 'with' ? 'token + enqueueEmail' : 'token only',
          transactions: m.n,
          perSecond: m.perSecond,
          p50Ms: m.p50,
          p95Ms: m.p95,
        });
      }
      // Keep the tables from growing into the next measurement.
      await pool.query('truncate bench_token');
      await clearRecentRows(pool);
    }
  } finally {
    await pool.end();
  }
  return figures;
}
