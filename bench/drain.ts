// Issue #7 target 2 and issue 17, sustained drain: a backlog kept topped up is drained
// for BENCH_DRAIN_SECONDS (60) after a short warm-up, by three variants that take turns
// in each round (order forward in odd rounds, backward in even ones):
//   - bare pooled nodemailer sending one rendered email to the SMTP sink (smtp only);
//   - mailroom: one worker (relay, pg-boss, sender, audit rows), default settings;
//   - the peer: a hand-written pg-boss + nodemailer worker (support/pgboss-peer.ts),
//     with mailroom's default concurrency (2 consumers x batch 50), no audit rows;
// (a) into the SMTP counting sink, and (b) into a transport that accepts at once (the
// peer renders and does not send). Each variant runs in a fresh child process (this
// file, plain `node` with tsx and no heap flags) with its feeder; the sink stays in the
// bench process. Each figure comes with the CPU per email (the child process, and the
// PostgreSQL backends of the bench database from /proc), the tuple writes per email
// (pg_stat_user_tables), the worker's queries per email (counted in the client), the
// child's RSS peak (VmHWM: the worker plus this harness) and the load average.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
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
import { PEER_APPLICATION_NAME, PEER_QUEUE, PEER_SCHEMA, startPgBossPeer, type PeerJob } from './support/pgboss-peer.ts';
import { round } from './support/stats.ts';
import { config as productConfig } from '../test/support/product.ts';
import { BENCH_WORKER_ENV } from './support/env.ts';

export type DrainVariant = 'nodemailer' | 'mailroom' | 'pg-boss peer';

export interface DrainFigures {
  round: number;
  transport: 'smtp' | 'accept';
  variant: DrainVariant;
  seconds: number;
  perSecond: number;
  /** SMTP only: bare pooled nodemailer to the same sink, in the same round. */
  baselinePerSecond: number | null;
  /** perSecond / baselinePerSecond. */
  ratio: number | null;
  /** The hand-written pg-boss + nodemailer worker, same transport, same round. */
  peerPerSecond: number | null;
  /** perSecond / peerPerSecond. */
  peerRatio: number | null;
  /** CPU per email in the window: the variant's process's main thread (the worker; the SMTP sink is in the bench process) ... */
  mainCpuMs: number;
  /** ... that whole process (all its threads) ... */
  processCpuMs: number;
  /** ... and all PostgreSQL backends connected to the bench database (null for bare nodemailer). */
  pgCpuMs: number | null;
  /** PostgreSQL CPU per email delivered, the producer's backend left out (delivery path: relay, queue, sender, audit, vacuum). */
  pgDeliveryCpuMs: number | null;
  /** ... of which the worker's own connections (mailroom-* or pgboss-peer): no autovacuum, no bench queries. */
  pgWorkerCpuMs: number | null;
  /** PostgreSQL CPU of the producer's backend per row it inserted in the window (bulk inserts of 4,000). */
  pgEnqueueCpuMs: number | null;
  /**
   * Tuple writes (n_tup_ins + n_tup_upd + n_tup_del, all tables of the bench database) per
   * email: the delivery path's writes in the window per email delivered, plus the producer's
   * writes per row enqueued (as if it had enqueued exactly as many rows as were delivered).
   */
  tupleWrites: number | null;
  /** ... of which the producer's per row enqueued. */
  enqueueTupleWrites: number | null;
  /** Queries (client round trips, BEGIN and COMMIT included) the worker's own connections sent, per email. */
  queries: number | null;
  /** Peak RSS in MiB (VmHWM) of the variant's own process: the worker (or bare nodemailer) plus this harness and tsx, plain `node`, no heap flags. */
  rssPeakMiB: number;
  /** Load average (1 min) when the window ended: other work on the machine. */
  load1: number;
  /** Per table, per email delivered: the delivery path's writes (i/u/h/d = inserted/updated/of which HOT/deleted); and the enqueue's per row. */
  writesByTable: string | null;
  /** The worker's most frequent statements per email: count, and their client-observed latency in ms per email. */
  queriesByStatement: string | null;
  /** PostgreSQL CPU ms per email by backend (application_name, or autovacuum worker etc.). */
  pgCpuByBackend: string | null;
  /** Where pg_stat_statements is loaded: execution time of the bench database's statements, ms per email delivered (the feeder's included, the harness's progress counts not). */
  pgStatementMs: number | null;
  /** ... the heaviest statements: calls and execution ms per email. */
  statementsByTime: string | null;
}

export interface DrainOptions {
  seconds: number;
  warmupSeconds: number;
  rounds: number;
  transports: ('smtp' | 'accept')[];
  /** Extra worker settings for every variant, e.g. WORKER_CONCURRENCY. */
  env?: Record<string, string>;
  /** Which variants run (default all three). */
  variants?: DrainVariant[];
}

const props = { name: 'Ada', token: 'bench-token-0123456789abcdef' };
const maxConnections = 5;
// Marks the harness's own progress counts, which pg_stat_statements keeps with their
// comment: they are left out of the statement times. Counting the delivered rows of a
// growing outbox costs more each poll, and it is the bench's cost, not the system's.
const HARNESS = '/* bench harness */';

const ALL_VARIANTS: DrainVariant[] = ['nodemailer', 'mailroom', 'pg-boss peer'];

interface Measured {
  perSecond: number;
  cpu: Pick<DrainFigures, 'mainCpuMs' | 'processCpuMs' | 'pgCpuMs' | 'pgDeliveryCpuMs' | 'pgWorkerCpuMs' | 'pgEnqueueCpuMs'>;
  writes: Pick<DrainFigures, 'tupleWrites' | 'enqueueTupleWrites' | 'writesByTable'>;
  queries: number | null;
  rssPeakMiB: number;
  load1: number;
  queriesByStatement: string | null;
  pgCpuByBackend: string | null;
  pgStatementMs: number | null;
  statementsByTime: string | null;
}

export async function benchDrain(database: BenchDatabase, options: DrainOptions): Promise<DrainFigures[]> {
  const sink = await startCountSink({ trackIds: false });
  const variants = options.variants ?? ALL_VARIANTS;
  const figures: DrainFigures[] = [];
  try {
    for (let r = 1; r <= options.rounds; r++) {
      for (const transport of options.transports) {
        const order = variants.filter((v) => v !== 'nodemailer' || transport === 'smtp');
        if (r % 2 === 0) order.reverse();
        const measured = new Map<DrainVariant, Measured>();
        for (const variant of order) {
          const m = await inChild({ variant, transport, databaseUrl: database.url, sinkUrl: sink.url, options });
          measured.set(variant, m);
          console.log(`  round ${r} ${transport} ${variant}: ${round(m.perSecond, 1)}/s, load ${round(loadavg()[0]!, 2)}`);
        }
        const base = measured.get('nodemailer')?.perSecond ?? null;
        const peer = measured.get('pg-boss peer')?.perSecond ?? null;
        for (const variant of order.slice().sort((a, b) => ALL_VARIANTS.indexOf(a) - ALL_VARIANTS.indexOf(b))) {
          const m = measured.get(variant)!;
          figures.push({
            round: r,
            transport,
            variant,
            seconds: options.seconds,
            perSecond: round(m.perSecond, 1),
            baselinePerSecond: base === null ? null : round(base, 1),
            ratio: base === null ? null : round(m.perSecond / base, 2),
            peerPerSecond: peer === null ? null : round(peer, 1),
            peerRatio: peer === null ? null : round(m.perSecond / peer, 2),
            ...m.cpu,
            ...m.writes,
            queries: m.queries,
            rssPeakMiB: m.rssPeakMiB,
            load1: m.load1,
            queriesByStatement: m.queriesByStatement,
            pgCpuByBackend: m.pgCpuByBackend,
            pgStatementMs: m.pgStatementMs,
            statementsByTime: m.statementsByTime,
          });
          console.log(`  ${JSON.stringify(figures.at(-1))}`);
        }
      }
    }
  } finally {
    await sink.close();
  }
  return figures;
}

interface ChildJob {
  variant: DrainVariant;
  transport: 'smtp' | 'accept';
  databaseUrl: string;
  sinkUrl: string;
  options: DrainOptions;
}

const CHILD_FLAG = '--drain-child';
const THIS_FILE = fileURLToPath(import.meta.url);

/** One variant in a fresh process: `node --conditions=mailroom-source --import tsx bench/drain.ts --drain-child`. */
async function inChild(job: ChildJob): Promise<Measured> {
  const child = spawn(process.execPath, ['--conditions=mailroom-source', '--import', 'tsx', THIS_FILE, CHILD_FLAG], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const limitMs = (job.options.seconds + job.options.warmupSeconds) * 1000 * 3 + 120_000;
  return new Promise<Measured>((resolve, reject) => {
    let result: Measured | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('message', (message: { result?: Measured; error?: string }) => {
      if (message.result) result = message.result;
      else if (message.error) reject(new Error(`drain child (${job.transport} ${job.variant}): ${message.error}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (result) resolve(result);
      else reject(new Error(`drain child (${job.transport} ${job.variant}) exited with ${signal ?? code} and no result`));
    });
    child.send(job);
  });
}

/** The child's side: measure one variant, send the figures back, exit. */
async function childMain(job: ChildJob): Promise<Measured> {
  if (job.variant === 'nodemailer') return baseline(job.sinkUrl, job.options.seconds);
  installQueryCounter();
  const pool = new pg.Pool({ connectionString: job.databaseUrl, max: 4, application_name: 'bench' });
  const feeder = new pg.Client({ connectionString: job.databaseUrl, application_name: 'bench-feeder' });
  await feeder.connect();
  try {
    const serverVersion = Number((await feeder.query('show server_version_num')).rows[0].server_version_num);
    const context: Context = { databaseUrl: job.databaseUrl, pool, feeder, canForceFlush: serverVersion >= 150000, sinkUrl: job.sinkUrl, options: job.options };
    return await drain(context, job.variant === 'mailroom' ? 'mailroom' : 'peer', job.transport);
  } finally {
    await feeder.end();
    await pool.end();
  }
}

if (process.argv[1] === THIS_FILE && process.argv.includes(CHILD_FLAG)) {
  process.once('message', (job: ChildJob) => {
    childMain(job).then(
      (result) => process.send!({ result }, () => process.exit(0)),
      (error: Error) => process.send!({ error: error.stack ?? String(error) }, () => process.exit(1)),
    );
  });
}

/** The figures by transport and variant: median and range over the rounds. */
export function summariseDrain(figures: DrainFigures[]): Record<string, string | number>[] {
  const keys = ['perSecond', 'ratio', 'peerRatio', 'pgStatementMs', 'pgCpuMs', 'pgDeliveryCpuMs', 'pgWorkerCpuMs', 'tupleWrites', 'queries', 'rssPeakMiB', 'load1'] as const;
  const groups = new Map<string, DrainFigures[]>();
  for (const f of figures) {
    const key = `${f.transport} ${f.variant}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  return [...groups].map(([key, rows]) => {
    const out: Record<string, string | number> = { variant: key, rounds: rows.length };
    for (const k of keys) {
      const values = rows.map((f) => f[k]).filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
      if (values.length === 0) continue;
      const median = values.length % 2 ? values[(values.length - 1) / 2]! : (values[values.length / 2 - 1]! + values[values.length / 2]!) / 2;
      const digits = k === 'perSecond' || k === 'rssPeakMiB' ? 0 : k === 'ratio' || k === 'peerRatio' || k === 'queries' || k === 'tupleWrites' || k === 'load1' ? 2 : 3;
      const fmt = (v: number) => v.toFixed(digits);
      out[k] = values.length === 1 ? fmt(median) : `${fmt(median)} (${fmt(values[0]!)}-${fmt(values.at(-1)!)})`;
    }
    return out;
  });
}

/** What run.ts prints for the drain: each round, the summary, and where the writes go. */
export function printDrain(figures: DrainFigures[]): void {
  console.table(
    figures.map(({ writesByTable: _w, queriesByStatement: _q, pgCpuByBackend: _c, seconds: _s, baselinePerSecond: _b, peerPerSecond: _p, enqueueTupleWrites: _e, ...rest }) => rest),
  );
  console.log('\nMedian (range) over the rounds; ratio = to bare nodemailer (smtp), peerRatio = to the pg-boss peer, same round:');
  console.table(summariseDrain(figures));
  console.log('\nTuple writes per email delivered by table (last round; i/u/h/d = inserted/updated/of which HOT/deleted), and per row enqueued:');
  const last = Math.max(...figures.map((f) => f.round));
  for (const f of figures.filter((f) => f.round === last && f.writesByTable)) console.log(`  ${f.transport} ${f.variant}: ${f.writesByTable}`);
  console.log('\nPostgreSQL CPU ms per email by backend (last round):');
  for (const f of figures.filter((f) => f.round === last && f.pgCpuByBackend)) console.log(`  ${f.transport} ${f.variant}: ${f.pgCpuByBackend}`);
  if (figures.some((f) => f.statementsByTime)) {
    console.log("\npg_stat_statements, execution time per email delivered (last round; the bench database's statements but the harness's progress counts, heaviest first):");
    for (const f of figures.filter((f) => f.round === last && f.statementsByTime)) console.log(`  ${f.transport} ${f.variant}: ${f.pgStatementMs} ms in all: ${f.statementsByTime}`);
  }
  console.log('\nThe worker\'s statements per email (last round; most frequent first, with their client-observed latency in ms per email):');
  for (const f of figures.filter((f) => f.round === last && f.queriesByStatement)) console.log(`  ${f.transport} ${f.variant}: ${f.queriesByStatement}`);
}

/** Bare pooled nodemailer, 200 sends in flight, for `seconds`. */
async function baseline(sinkUrl: string, seconds: number): Promise<Measured> {
  const rendered = await renderEmail('verify-email', props);
  const transporter = nodemailer.createTransport({ url: sinkUrl, pool: true, maxConnections, maxMessages: 1000 } as never);
  const mainBefore = process.threadCpuUsage();
  const processBefore = process.cpuUsage();
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
  const perEmail = (us: number) => round(us / 1000 / Math.max(1, sent), 3);
  const cpu = {
    mainCpuMs: perEmail(cpuMicros(process.threadCpuUsage(mainBefore))),
    processCpuMs: perEmail(cpuMicros(process.cpuUsage(processBefore))),
    pgCpuMs: null,
    pgDeliveryCpuMs: null,
    pgWorkerCpuMs: null,
    pgEnqueueCpuMs: null,
  };
  const rssPeakMiB = await peakRssMiB();
  transporter.close();
  return {
    perSecond: rate,
    cpu,
    writes: { tupleWrites: null, enqueueTupleWrites: null, writesByTable: null },
    queries: null,
    rssPeakMiB,
    load1: round(loadavg()[0]!, 2),
    queriesByStatement: null,
    pgCpuByBackend: null,
    pgStatementMs: null,
    statementsByTime: null,
  };
}

interface Context {
  databaseUrl: string;
  pool: pg.Pool;
  /** The producer's own connection: its CPU and writes are told apart from the delivery path's. */
  feeder: pg.Client;
  canForceFlush: boolean;
  sinkUrl: string;
  options: DrainOptions;
}

/** How one system under test is fed, started, counted and cleared. */
interface System {
  /** Insert `count` emails on the feeder connection (inside the feeder's transaction). */
  insert(count: number): Promise<void>;
  waiting(): Promise<number>;
  delivered(): Promise<number>;
  start(): Promise<void>;
  stop(): Promise<void>;
  clear(): Promise<void>;
  /** Which application_names are the worker's own connections. */
  isWorker(applicationName: string): boolean;
}

async function mailroomSystem(context: Context, transport: 'smtp' | 'accept'): Promise<System> {
  const { pool, feeder, databaseUrl, sinkUrl } = context;
  const env = {
    DATABASE_URL: databaseUrl,
    MAIL_TRANSPORT: 'smtp',
    SMTP_URL: sinkUrl,
    SMTP_MAX_CONNECTIONS: String(maxConnections),
    LOG_LEVEL: 'silent',
    ...context.options.env,
  };
  let worker: { stop(): Promise<void> } | undefined;
  const count = async (where: string) => (await pool.query<{ n: number }>(`${HARNESS} select count(*)::int as n from mailroom.outbox where ${where}`)).rows[0]!.n;
  return {
    insert: (n) => insertBacklog(feeder as unknown as pg.Pool, n, props),
    // By phase, as mailroom's own queries (outbox_phase_list_idx, migrations/0024).
    waiting: () => count(`phase in ('pending', 'in flight') and status in ('pending', 'queued')`),
    delivered: () => count(`phase = 'sent'`),
    async start() {
      worker =
        transport === 'smtp'
          ? await launchWorker(productConfig, loadConfig({ ...BENCH_WORKER_ENV, ...env }), databaseUrl, createLogger({ level: 'silent' }))
          : await launchWorkerWith(env, createAcceptTransport());
    },
    stop: async () => worker?.stop(),
    async clear() {
      await pool.query('truncate mailroom.outbox cascade');
      // e.g. BENCH_OUTBOX_FILLFACTOR=70: how much room each page keeps for HOT updates (the migrations set 80).
      const fillfactor = process.env.BENCH_OUTBOX_FILLFACTOR;
      if (fillfactor) await pool.query(`alter table mailroom.outbox set (fillfactor = ${Number(fillfactor)})`);
      await pool.query(`delete from pgboss.job where name = 'mailroom.send'`);
      // The last variant's dead jobs, vacuumed now rather than by autovacuum in the window.
      await pool.query('vacuum pgboss.job');
    },
    isWorker: (name) => name.startsWith('mailroom'),
  };
}

async function peerSystem(context: Context, transport: 'smtp' | 'accept'): Promise<System> {
  const concurrency = Number(context.options.env?.WORKER_CONCURRENCY ?? 2);
  const batchSize = Number(context.options.env?.WORKER_BATCH_SIZE ?? 50);
  const peer = await startPgBossPeer({ databaseUrl: context.databaseUrl, transport, smtpUrl: context.sinkUrl, concurrency, batchSize, maxConnections });
  let sequence = 0;
  // Counted on the bench's own pool, so the worker's query count is its own.
  const count = async (state: string) =>
    (await context.pool.query<{ n: number }>(`${HARNESS} select count(*)::int as n from ${PEER_SCHEMA}.job where name = $1 and state = $2`, [PEER_QUEUE, state])).rows[0]!.n;
  return {
    async insert(n) {
      const jobs: PeerJob[] = Array.from({ length: n }, () => ({ to: `bulk${++sequence}@example.test`, template: 'verify-email', props }));
      await peer.enqueue(jobs, context.feeder);
    },
    waiting: () => count('created'),
    delivered: () => count('completed'),
    start: () => peer.work(),
    stop: () => peer.stop(),
    // After stop() too, so on the bench's pool.
    async clear() {
      await context.pool.query(`delete from ${PEER_SCHEMA}.job where name = $1`, [PEER_QUEUE]);
      await context.pool.query(`vacuum ${PEER_SCHEMA}.job`);
    },
    isWorker: (name) => name === PEER_APPLICATION_NAME,
  };
}

async function drain(context: Context, kind: 'mailroom' | 'peer', transport: 'smtp' | 'accept'): Promise<Measured> {
  const { pool, feeder, options } = context;
  const system = kind === 'mailroom' ? await mailroomSystem(context, transport) : await peerSystem(context, transport);
  await system.clear();
  // The feeder and the window's snapshots take turns, so every insert falls wholly
  // inside or outside the window, and its writes are flushed to the statistics first.
  let chain: Promise<unknown> = Promise.resolve();
  const locked = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn);
    chain = next.catch(() => {});
    return next;
  };
  let inWindow = false;
  const fed = { rows: 0, writes: 0, all: { rows: 0, writes: 0 }, byTable: new Map<string, TableWrites>() };
  const feed = (count: number) =>
    locked(async () => {
      await feeder.query('begin');
      try {
        await system.insert(count);
        const tables = await tableWrites(feeder, 'pg_stat_xact_user_tables');
        if (context.canForceFlush) await feeder.query('select pg_stat_force_next_flush()');
        await feeder.query('commit');
        const writes = sumWrites(tables);
        fed.all.rows += count;
        fed.all.writes += writes;
        if (inWindow) {
          fed.rows += count;
          fed.writes += writes;
        }
        for (const [name, w] of tables) fed.byTable.set(name, addWrites(fed.byTable.get(name), w));
      } catch (error) {
        await feeder.query('rollback').catch(() => {});
        throw error;
      }
    });
  // Keep 3,000-7,000 emails waiting, so the worker never runs dry and the tables stay
  // the size a busy queue has (not a 100k-row backlog inserted up front).
  let feeding = true;
  await feed(6000);
  const feederLoop = (async () => {
    while (feeding) {
      if ((await system.waiting()) < 3000) await feed(4000);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  await system.start();
  try {
    // Warm-up: the JIT, pg-boss and the pools reach steady state.
    while ((await system.delivered()) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, options.warmupSeconds * 1000));
    const statementsTracked = await resetStatements(pool);
    const begin = await locked(async () => {
      if (statementsTracked) await pool.query('select pg_stat_statements_reset()');
      const snapshot = {
        delivered: await system.delivered(),
        tables: await tableWrites(pool, 'pg_stat_user_tables'),
        pg: await backendCpu(pool),
        queries: snapshotQueries(),
        main: process.threadCpuUsage(),
        process: process.cpuUsage(),
        at: performance.now(),
      };
      inWindow = true;
      return snapshot;
    });
    await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000));
    const end = await locked(async () => {
      const snapshot = {
        delivered: await system.delivered(),
        at: performance.now(),
        main: process.threadCpuUsage(begin.main),
        process: process.cpuUsage(begin.process),
        queries: snapshotQueries(),
        tables: await tableWrites(pool, 'pg_stat_user_tables'),
        pg: await backendCpu(pool),
        statements: statementsTracked ? await statementTimes(pool) : null,
      };
      inWindow = false;
      return snapshot;
    });
    const rssPeakMiB = await peakRssMiB();
    const emails = end.delivered - begin.delivered;
    const elapsed = (end.at - begin.at) / 1000;
    const perEmail = (ms: number, n = emails) => round(ms / Math.max(1, n), 3);

    let pgMs = 0;
    let feederMs = 0;
    let workerMs = 0;
    const byBackend = new Map<string, number>();
    for (const [pid, { ms, app, type }] of end.pg) {
      const spent = ms - (begin.pg.get(pid)?.ms ?? 0);
      pgMs += spent;
      if (app === 'bench-feeder') feederMs += spent;
      if (system.isWorker(app)) workerMs += spent;
      const name = type === 'client backend' ? app || '(no name)' : type;
      byBackend.set(name, (byBackend.get(name) ?? 0) + spent);
    }
    const pgCpuByBackend = [...byBackend]
      .sort((a, b) => b[1] - a[1])
      .map(([name, ms]) => `${name} ${(ms / Math.max(1, name === 'bench-feeder' ? fed.rows : emails)).toFixed(3)}${name === 'bench-feeder' ? ' per row fed' : ''}`)
      .join(', ');
    // The worker's own statements in the window, most frequent first.
    let queries = 0;
    const statements: { key: string; n: number; ms: number }[] = [];
    for (const [key, q] of end.queries) {
      const app = key.slice(0, key.indexOf('\t'));
      if (!system.isWorker(app)) continue;
      const n = q.n - (begin.queries.get(key)?.n ?? 0);
      const ms = q.ms - (begin.queries.get(key)?.ms ?? 0);
      if (n === 0) continue;
      queries += n;
      statements.push({ key, n, ms });
    }
    statements.sort((a, b) => b.n - a.n);
    const queriesByStatement = statements
      .slice(0, 12)
      .map((q) => `${(q.n / Math.max(1, emails)).toFixed(3)} x ${q.key.replace('\t', ': ')} (${(q.ms / Math.max(1, emails)).toFixed(3)} ms)`)
      .join(' | ');

    // Delivery path: every table's writes in the window, less the producer's inserts in it.
    const delivery = new Map<string, TableWrites>();
    for (const [name, w] of end.tables) {
      const before = begin.tables.get(name);
      const d = { ins: w.ins - (before?.ins ?? 0), upd: w.upd - (before?.upd ?? 0), hot: w.hot - (before?.hot ?? 0), del: w.del - (before?.del ?? 0) };
      if (d.ins || d.upd || d.del) delivery.set(name, d);
    }
    const deliveryWrites = sumWrites(delivery) - fed.writes;
    const enqueueWrites = fed.all.writes / Math.max(1, fed.all.rows);
    const fmt = (v: number) => (Math.abs(v) < 0.005 ? '0' : v.toFixed(2));
    const describe = (map: Map<string, TableWrites>, n: number, minus?: Map<string, TableWrites>, minusScale = 0) =>
      [...map]
        .map(([name, w]) => {
          const m = minus?.get(name);
          const part = (k: keyof TableWrites) => (w[k] - (m ? (m[k] * minusScale) : 0)) / n;
          return { name, ins: part('ins'), upd: part('upd'), hot: part('hot'), del: part('del') };
        })
        .filter((w) => Math.abs(w.ins) + Math.abs(w.upd) + Math.abs(w.del) >= 0.005)
        .map((w) => `${w.name} i${fmt(w.ins)} u${fmt(w.upd)}${w.upd ? ` h${fmt(w.hot)}` : ''} d${fmt(w.del)}`)
        .join('; ');
    // The producer's share in the window, per table: its per-row split times the rows it inserted then.
    const fedPerRow = new Map([...fed.byTable].map(([name, w]) => [name, scaleWrites(w, 1 / Math.max(1, fed.all.rows))]));
    const writesByTable = `delivery: ${describe(delivery, Math.max(1, emails), fedPerRow, fed.rows)} | enqueue per row: ${describe(fedPerRow, 1)}`;
    return {
      perSecond: emails / elapsed,
      cpu: {
        mainCpuMs: perEmail(cpuMicros(end.main) / 1000),
        processCpuMs: perEmail(cpuMicros(end.process) / 1000),
        pgCpuMs: perEmail(pgMs),
        pgDeliveryCpuMs: perEmail(pgMs - feederMs),
        pgWorkerCpuMs: perEmail(workerMs),
        pgEnqueueCpuMs: fed.rows > 0 ? perEmail(feederMs, fed.rows) : null,
      },
      writes: {
        tupleWrites: round(deliveryWrites / Math.max(1, emails) + enqueueWrites, 2),
        enqueueTupleWrites: round(enqueueWrites, 2),
        writesByTable,
      },
      queries: round(queries / Math.max(1, emails), 2),
      rssPeakMiB,
      load1: round(loadavg()[0]!, 2),
      queriesByStatement,
      pgCpuByBackend,
      pgStatementMs: end.statements ? perEmail(end.statements.reduce((sum, q) => sum + q.ms, 0)) : null,
      statementsByTime: end.statements
        ? end.statements
            .slice(0, 10)
            .map((q) => `${(q.calls / Math.max(1, emails)).toFixed(3)} x ${q.query} (${(q.ms / Math.max(1, emails)).toFixed(4)} ms)`)
            .join(' | ')
        : null,
    };
  } finally {
    feeding = false;
    await feederLoop;
    await system.stop();
    await system.clear();
  }
}

/**
 * pg_stat_statements, where the server preloads it (a bench's own PostgreSQL with
 * shared_preload_libraries = 'pg_stat_statements'; docs/performance.md): true once
 * the extension answers in the bench database.
 */
async function resetStatements(pool: pg.Pool): Promise<boolean> {
  try {
    await pool.query('create extension if not exists pg_stat_statements');
    await pool.query('select pg_stat_statements_reset()');
    return true;
  } catch {
    return false;
  }
}

/** The bench database's statements since the reset (the harness's progress counts left out), heaviest first: execution ms in all. */
async function statementTimes(pool: pg.Pool): Promise<{ query: string; calls: number; ms: number }[]> {
  const { rows } = await pool.query<{ query: string; calls: string; ms: number }>(
    `select regexp_replace(query, '\\s+', ' ', 'g') as query, calls, total_exec_time as ms from pg_stat_statements
      where dbid = (select oid from pg_database where datname = current_database()) and query not like $1
      order by total_exec_time desc`,
    [`${HARNESS}%`],
  );
  return rows.map((r) => ({ query: r.query.trim().slice(0, 90), calls: Number(r.calls), ms: r.ms }));
}

interface TableWrites {
  ins: number;
  upd: number;
  hot: number;
  del: number;
}

const addWrites = (a: TableWrites | undefined, b: TableWrites): TableWrites =>
  a ? { ins: a.ins + b.ins, upd: a.upd + b.upd, hot: a.hot + b.hot, del: a.del + b.del } : { ...b };
const scaleWrites = (a: TableWrites, k: number): TableWrites => ({ ins: a.ins * k, upd: a.upd * k, hot: a.hot * k, del: a.del * k });
const sumWrites = (tables: Map<string, TableWrites>) => [...tables.values()].reduce((sum, w) => sum + w.ins + w.upd + w.del, 0);

/** Rows written per table, from pg_stat_user_tables (all sessions, flushed) or pg_stat_xact_user_tables (this transaction). */
async function tableWrites(client: pg.Pool | pg.Client, view: 'pg_stat_user_tables' | 'pg_stat_xact_user_tables'): Promise<Map<string, TableWrites>> {
  const { rows } = await client.query<{ name: string; ins: string; upd: string; hot: string; del: string }>(
    `select schemaname || '.' || relname as name, n_tup_ins as ins, n_tup_upd as upd, n_tup_hot_upd as hot, n_tup_del as del from ${view}`,
  );
  return new Map(rows.map((r) => [r.name, { ins: Number(r.ins), upd: Number(r.upd), hot: Number(r.hot), del: Number(r.del) }]));
}

const cpuMicros = (usage: NodeJS.CpuUsage) => usage.user + usage.system;

/** CPU time (ms) so far of each PostgreSQL backend on the bench database, from /proc (same machine), with its application_name. */
async function backendCpu(pool: pg.Pool): Promise<Map<number, { ms: number; app: string; type: string }>> {
  const { rows } = await pool.query<{ pid: number; app: string; type: string }>(
    'select pid, application_name as app, backend_type as type from pg_stat_activity where datname = current_database()',
  );
  const cpu = new Map<number, { ms: number; app: string; type: string }>();
  for (const { pid, app, type } of rows) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (!stat) continue;
    // Fields after the command name: utime and stime are the 12th and 13th, in clock ticks (100/s).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    cpu.set(pid, { ms: ((Number(fields[11]) + Number(fields[12])) * 1000) / 100, app, type });
  }
  return cpu;
}

/**
 * Queries sent so far by the pg clients of this process, per application_name and
 * statement (its first words): how many, and their latency as the client saw it
 * (call to result, so a query's wait behind another on the same client counts too).
 */
const queryStats = new Map<string, { n: number; ms: number }>();
const snapshotQueries = () => new Map([...queryStats].map(([key, q]) => [key, { ...q }]));
let queryCounterInstalled = false;
function installQueryCounter(): void {
  if (queryCounterInstalled) return;
  queryCounterInstalled = true;
  const original = pg.Client.prototype.query as (...a: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: pg.Client & { connectionParameters?: { application_name?: string } }, ...args: unknown[]) {
    const first = args[0];
    const text = typeof first === 'string' ? first : typeof first === 'object' && first && 'text' in first ? String((first as { text: unknown }).text) : '';
    if (!text) return original.apply(this, args);
    const key = `${this.connectionParameters?.application_name ?? ''}\t${text.replace(/\s+/g, ' ').trim().slice(0, 70)}`;
    const stat = queryStats.get(key) ?? { n: 0, ms: 0 };
    queryStats.set(key, stat);
    stat.n += 1;
    const started = performance.now();
    const done = () => void (stat.ms += performance.now() - started);
    const last = args.at(-1);
    if (typeof last === 'function') {
      args[args.length - 1] = function (this: unknown, ...result: unknown[]) {
        done();
        return (last as (...a: unknown[]) => unknown).apply(this, result);
      };
      return original.apply(this, args);
    }
    const result = original.apply(this, args);
    if (result && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).then(done, done);
    return result;
  } as typeof pg.Client.prototype.query;
}

/** This process's peak RSS so far, in MiB (the kernel's VmHWM). */
async function peakRssMiB(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8');
  const kib = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
  return Math.round(kib / 1024);
}
