// Issue #7 targets 4 and 5 over time: a steady stream of enqueues (each its own
// transaction) drained by one `mailroom worker` process, sampling every interval
// the dead and live tuples of the hot tables, the backlog, and the worker's peak
// RSS. Healthy means: dead tuples rise and fall with autovacuum instead of
// growing with the run, the backlog stays near zero, memory stays flat.
import pg from 'pg';
import { enqueueEmail } from '../test/support/product.ts';
import { startCountSink } from './support/count-sink.ts';
import type { BenchDatabase } from './support/database.ts';
import { round } from './support/stats.ts';
import { startWorkerProcess } from './support/worker-processes.ts';

export interface SustainedSample {
  atSeconds: number;
  enqueued: number;
  sent: number;
  backlog: number;
  outboxDead: number;
  outboxLive: number;
  attemptDead: number;
  jobDead: number;
  jobLive: number;
  workerPeakRssMiB: number;
}

const props = { name: 'Ada', token: 'bench-token-0123456789abcdef' };

// pg-boss 12 keeps jobs in a partitioned table: sum its partitions.
const TUPLES = `
  select coalesce(sum(n_dead_tup) filter (where schemaname = 'mailroom' and relname = 'outbox'), 0)::int as outbox_dead,
         coalesce(sum(n_live_tup) filter (where schemaname = 'mailroom' and relname = 'outbox'), 0)::int as outbox_live,
         coalesce(sum(n_dead_tup) filter (where schemaname = 'mailroom' and relname = 'delivery_attempt'), 0)::int as attempt_dead,
         coalesce(sum(n_dead_tup) filter (where schemaname = 'pgboss' and relname ~ '^(job|j[0-9a-f]+)'), 0)::int as job_dead,
         coalesce(sum(n_live_tup) filter (where schemaname = 'pgboss' and relname ~ '^(job|j[0-9a-f]+)'), 0)::int as job_live
    from pg_stat_user_tables`;

export async function benchSustained(
  database: BenchDatabase,
  options: { seconds: number; ratePerSecond: number; sampleEverySeconds: number },
): Promise<SustainedSample[]> {
  const sink = await startCountSink();
  const pool = new pg.Pool({ connectionString: database.url, max: 4 });
  const worker = await startWorkerProcess({
    DATABASE_URL: database.url,
    MAIL_TRANSPORT: 'smtp',
    SMTP_URL: sink.url,
    LOG_LEVEL: 'info',
    LOG_PRETTY: 'false',
  });
  const samples: SustainedSample[] = [];
  let enqueued = 0;
  const start = performance.now();
  const elapsed = () => (performance.now() - start) / 1000;
  try {
    const producer = (async () => {
      while (elapsed() < options.seconds) {
        const due = start + (enqueued * 1000) / options.ratePerSecond;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await enqueueEmail(pool, { template: 'verify-email', to: `steady${enqueued}@example.test`, props });
        enqueued += 1;
      }
    })();
    const sampler = (async () => {
      for (let next = options.sampleEverySeconds; next <= options.seconds; next += options.sampleEverySeconds) {
        const wait = start + next * 1000 - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const [{ rows: t }, { rows: c }] = await Promise.all([
          pool.query(TUPLES),
          pool.query(`select count(*) filter (where status = 'sent')::int as sent,
                             count(*) filter (where status in ('pending', 'queued', 'sending', 'retrying'))::int as backlog
                        from mailroom.outbox`),
        ]);
        samples.push({
          atSeconds: round(elapsed(), 0),
          enqueued,
          sent: c[0].sent,
          backlog: c[0].backlog,
          outboxDead: t[0].outbox_dead,
          outboxLive: t[0].outbox_live,
          attemptDead: t[0].attempt_dead,
          jobDead: t[0].job_dead,
          jobLive: t[0].job_live,
          workerPeakRssMiB: await worker.peakRssMiB(),
        });
      }
    })();
    await Promise.all([producer, sampler]);
    return samples;
  } finally {
    await worker.stop();
    await pool.end();
    await sink.close();
  }
}
