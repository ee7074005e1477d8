// End to end: rows in the outbox -> worker -> SMTP 250 at a local sink -> audit row,
// beside the baseline of bare pooled nodemailer sends to the same sink, same run.
// Then the latency from commit to accepted at a steady rate.
import nodemailer from 'nodemailer';
import pg from 'pg';
import { launchWorker } from '../src/cli/commands/worker.ts';
import { loadConfig } from '../src/cli/env.ts';
import { createLogger } from '../src/logger.ts';
import { enqueueEmail, renderEmail } from '../test/support/product.ts';
import { startCountSink } from './support/count-sink.ts';
import type { BenchDatabase } from './support/database.ts';
import { clearRecentRows, insertBacklog, waitForSent } from './support/outbox.ts';
import { round, summarise } from './support/stats.ts';
import { config as productConfig } from '../test/support/product.ts';
import { BENCH_WORKER_ENV } from './support/env.ts';

const props = { name: 'Ada', token: 'bench-token-0123456789abcdef' };

export interface ThroughputFigures {
  emails: number;
  baselinePerSecond: number;
  mailroomPerSecond: number;
  ratio: number;
  duplicates: number;
  latency: { ratePerSecond: number; emails: number; p50Ms: number; p95Ms: number; p99Ms: number };
  /** p50 of each leg: commit -> relay hand-off -> send start -> SMTP 250 recorded. */
  latencyLegsP50Ms: { relay: number; queueToSend: number; send: number };
}

export async function benchThroughput(database: BenchDatabase, options: { emails: number; latencySeconds: number }): Promise<ThroughputFigures> {
  const sink = await startCountSink();
  const maxConnections = 5;
  const env = {
    DATABASE_URL: database.url,
    MAIL_TRANSPORT: 'smtp',
    SMTP_URL: sink.url,
    SMTP_MAX_CONNECTIONS: String(maxConnections),
    LOG_LEVEL: 'silent',
  };
  const pool = new pg.Pool({ connectionString: database.url, max: 4 });
  try {
    // Baseline: the same rendered message, sent by nodemailer's pool as fast as it goes.
    const rendered = await renderEmail('verify-email', props);
    const transporter = nodemailer.createTransport({ url: sink.url, pool: true, maxConnections, maxMessages: 1000 } as never);
    const baseStart = performance.now();
    const inFlight = 200;
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < options.emails) {
          const i = next++;
          await transporter.sendMail({ from: 'bench@example.test', to: `base${i}@example.test`, ...rendered });
        }
      }),
    );
    const baselinePerSecond = options.emails / ((performance.now() - baseStart) / 1000);
    transporter.close();

    // mailroom: a backlog of committed rows, drained by one worker process.
    await insertBacklog(pool, options.emails, props);
    sink.messageIds.clear();
    const before = sink.received();
    const config = loadConfig({ ...BENCH_WORKER_ENV, ...env });
    const worker = await launchWorker(productConfig, config, database.url, createLogger({ level: 'silent' }));
    const start = performance.now();
    await waitForSent(pool, options.emails);
    const mailroomPerSecond = options.emails / ((performance.now() - start) / 1000);
    const duplicates = sink.received() - before - sink.messageIds.size;

    // Latency at a steady 50 emails/s, each enqueued in its own transaction.
    await clearRecentRows(pool);
    const rate = 50;
    const total = rate * options.latencySeconds;
    const steadyStart = performance.now();
    for (let i = 0; i < total; i++) {
      const due = steadyStart + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await enqueueEmail(pool, { template: 'verify-email', to: `steady${i}@example.test`, props });
    }
    await waitForSent(pool, total);
    // created_at is the commit-side clock (now() of the enqueue); the attempt's
    // finished_at is when the SMTP 250 was recorded, both by the same server clock.
    const { rows } = await pool.query<{ ms: number; relay: number; queue: number; send: number }>(
      `select extract(epoch from (a.finished_at - o.created_at)) * 1000 as ms,
              extract(epoch from (o.queued_at - o.created_at)) * 1000 as relay,
              extract(epoch from (a.started_at - o.queued_at)) * 1000 as queue,
              extract(epoch from (a.finished_at - a.started_at)) * 1000 as send
         from mailroom.outbox o join mailroom.delivery_attempt a on a.outbox_id = o.id and a.outcome = 'sent'
        where o.created_at > now() - interval '1 day'`,
    );
    await worker.stop();
    const latency = summarise(rows.map((r) => Number(r.ms)));
    const legP50 = (key: 'relay' | 'queue' | 'send') => round(summarise(rows.map((r) => Number(r[key]))).p50, 1);
    return {
      emails: options.emails,
      baselinePerSecond: round(baselinePerSecond, 1),
      mailroomPerSecond: round(mailroomPerSecond, 1),
      ratio: round(mailroomPerSecond / baselinePerSecond, 2),
      duplicates,
      latency: { ratePerSecond: rate, emails: total, p50Ms: round(latency.p50, 1), p95Ms: round(latency.p95, 1), p99Ms: round(latency.p99, 1) },
      latencyLegsP50Ms: { relay: legP50('relay'), queueToSend: legP50('queue'), send: legP50('send') },
    };
  } finally {
    await pool.end();
    await sink.close();
  }
}
