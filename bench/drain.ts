// Issue #7 target 2, sustained: one in-process worker drains a backlog that is kept
// topped up, for BENCH_DRAIN_SECONDS (60) after a short warm-up, (a) into the SMTP
// counting sink, beside bare pooled nodemailer sending to the same sink for the same
// time just before, and (b) into a transport that accepts at once. Targets:
// (a) >= 0.7x the baseline, (b) >= 1,300 emails/s. CPU per email comes with each
// figure: the rate depends on what else the machine runs, the CPU much less.
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { launchWorker } from '../src/cli/commands/worker.ts';
import { loadConfig } from '../src/cli/env.ts';
import { createLogger } from '../src/logger.ts';
import { renderEmail } from '../test/support/product.ts';
import { createAcceptTransport, launchWorkerWith } from './support/accept-transport.ts';
import { startCountSink } from './support/count-sink.ts';
import type { BenchDatabase } from './support/database.ts';
import { insertBacklog } from './support/outbox.ts';
import { round } from './support/stats.ts';
import { config as productConfig } from '../test/support/product.ts';
import { BENCH_WORKER_ENV } from './support/env.ts';

export interface DrainFigures {
  round: number;
  transport: 'smtp' | 'accept';
  seconds: number;
  perSecond: number;
  /** SMTP only: bare pooled nodemailer to the same sink, measured just before. */
  baselinePerSecond: number | null;
  ratio: number | null;
  /** CPU per email in the window: the bench process's main thread (worker, and the SMTP sink when smtp) ... */
  mainCpuMs: number;
  /** ... the whole bench process (all its threads) ... */
  processCpuMs: number;
  /** ... and the PostgreSQL backends connected to the bench database. */
  pgCpuMs: number;
  /** Load average (1 min) when the window ended: other work on the machine. */
  load1: number;
}

export interface DrainOptions {
  seconds: number;
  warmupSeconds: number;
  rounds: number;
  transports: ('smtp' | 'accept')[];
  /** Extra worker settings for every variant, e.g. WORKER_CONCURRENCY. */
  env?: Record<string, string>;
}

const props = { name: 'Ada', token: 'bench-token-0123456789abcdef' };
const maxConnections = 5;

export async function benchDrain(database: BenchDatabase, options: DrainOptions): Promise<DrainFigures[]> {
  const sink = await startCountSink();
  const pool = new pg.Pool({ connectionString: database.url, max: 4 });
  const figures: DrainFigures[] = [];
  try {
    for (let r = 1; r <= options.rounds; r++) {
      for (const transport of options.transports) {
        const baselinePerSecond = transport === 'smtp' ? await baseline(sink.url, options.seconds) : null;
        const { perSecond, cpu } = await drain(database.url, pool, sink.url, transport, options);
        figures.push({
          round: r,
          transport,
          seconds: options.seconds,
          perSecond: round(perSecond, 1),
          ...cpu,
          baselinePerSecond: baselinePerSecond === null ? null : round(baselinePerSecond, 1),
          ratio: baselinePerSecond === null ? null : round(perSecond / baselinePerSecond, 2),
          load1: round(loadavg()[0]!, 2),
        });
        console.log(`  ${JSON.stringify(figures.at(-1))}`);
      }
    }
  } finally {
    await pool.end();
    await sink.close();
  }
  return figures;
}

/** Bare pooled nodemailer, 200 sends in flight, for `seconds`: emails/s. */
async function baseline(sinkUrl: string, seconds: number): Promise<number> {
  const rendered = await renderEmail('verify-email', props);
  const transporter = nodemailer.createTransport({ url: sinkUrl, pool: true, maxConnections, maxMessages: 1000 } as never);
  const start = performance.now();
  const end = start + seconds * 1000;
  let sent = 0;
  await Promise.all(
    Array.from({ length: 200 }, async () => {
      while (performance.now() < end) {
        await transporter.sendMail({ from: 'bench@example.test', to: `base${sent}@example.test`, ...rendered });
        sent += 1;
      }
    }),
  );
  const rate = sent / ((performance.now() - start) / 1000);
  transporter.close();
  return rate;
}

async function drain(
  databaseUrl: string,
  pool: pg.Pool,
  sinkUrl: string,
  transport: 'smtp' | 'accept',
  options: DrainOptions,
): Promise<{ perSecond: number; cpu: Pick<DrainFigures, 'mainCpuMs' | 'processCpuMs' | 'pgCpuMs'> }> {
  await clear(pool);
  const env = {
    DATABASE_URL: databaseUrl,
    MAIL_TRANSPORT: 'smtp',
    SMTP_URL: sinkUrl,
    SMTP_MAX_CONNECTIONS: String(maxConnections),
    LOG_LEVEL: 'silent',
    ...options.env,
  };
  // Keep 3,000-7,000 rows waiting, so the worker never runs dry and the tables stay
  // the size a busy outbox has (not a 100k-row backlog inserted up front).
  let feeding = true;
  await insertBacklog(pool, 6000, props);
  const feeder = (async () => {
    while (feeding) {
      const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from mailroom.outbox where status in ('pending', 'queued')`);
      if (rows[0]!.n < 3000) await insertBacklog(pool, 4000, props);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  const worker =
    transport === 'smtp'
      ? await launchWorker(productConfig, loadConfig({ ...BENCH_WORKER_ENV, ...env }), databaseUrl, createLogger({ level: 'silent' }))
      : await launchWorkerWith(env, createAcceptTransport());
  const sent = async () => (await pool.query<{ n: number }>(`select count(*)::int as n from mailroom.outbox where status = 'sent'`)).rows[0]!.n;
  try {
    // Warm-up: the JIT, pg-boss and the pools reach steady state.
    while ((await sent()) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, options.warmupSeconds * 1000));
    const before = await sent();
    const start = performance.now();
    const cpuBefore = { main: process.threadCpuUsage(), process: process.cpuUsage(), pg: await backendCpu(pool) };
    await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000));
    const after = await sent();
    const elapsed = (performance.now() - start) / 1000;
    const emails = after - before;
    const mainUs = cpuMicros(process.threadCpuUsage(cpuBefore.main));
    const processUs = cpuMicros(process.cpuUsage(cpuBefore.process));
    const pgEnd = await backendCpu(pool);
    let pgMs = 0;
    for (const [pid, ms] of pgEnd) pgMs += ms - (cpuBefore.pg.get(pid) ?? 0);
    const perEmail = (ms: number) => round(ms / Math.max(1, emails), 3);
    return {
      perSecond: emails / elapsed,
      cpu: { mainCpuMs: perEmail(mainUs / 1000), processCpuMs: perEmail(processUs / 1000), pgCpuMs: perEmail(pgMs) },
    };
  } finally {
    feeding = false;
    await feeder;
    await worker.stop();
    await clear(pool);
  }
}

const cpuMicros = (usage: NodeJS.CpuUsage) => usage.user + usage.system;

/** CPU time (ms) so far of each PostgreSQL backend on the bench database, from /proc (same machine). */
async function backendCpu(pool: pg.Pool): Promise<Map<number, number>> {
  const { rows } = await pool.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database()');
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (!stat) continue;
    // Fields after the command name: utime and stime are the 12th and 13th, in clock ticks (100/s).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    cpu.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1000) / 100);
  }
  return cpu;
}

/** Empty the outbox and the send queue between variants. */
async function clear(pool: pg.Pool): Promise<void> {
  await pool.query('truncate mailroom.outbox cascade');
  await pool.query(`delete from pgboss.job where name = 'mailroom.send'`);
}
