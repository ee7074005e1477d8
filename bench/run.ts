// `npm run bench [-- enqueue|throughput|render|transports|workers|sustained|scale|signup|explain]`: runs the benchmarks, prints a table,
// writes bench/results/<time>.json. Figures mean something only beside their
// baseline from the same run; see docs/performance.md.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { benchDrain } from './drain.ts';
import { benchEnqueue } from './enqueue.ts';
import { benchExplain } from './explain.ts';
import { benchRender } from './render.ts';
import { benchSignup } from './signup.ts';
import { benchDatabase } from './support/database.ts';
import { benchThroughput } from './throughput.ts';
import { benchScale } from './scale.ts';
import { benchSustained } from './sustained.ts';
import { benchTransports } from './transports.ts';
import { benchWorkers } from './workers.ts';

const only = process.argv[2];
const BENCHES = ['enqueue', 'throughput', 'render', 'transports', 'workers', 'sustained', 'scale', 'signup', 'explain', 'drain'];
if (only && !BENCHES.includes(only)) {
  console.error(`bench: unknown benchmark "${only}" (one of ${BENCHES.join(', ')})`);
  process.exit(2);
}
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const emails = Number(process.env.BENCH_EMAILS ?? 5000);
const latencySeconds = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
const renders = Number(process.env.BENCH_RENDERS ?? 2000);

if (only === 'render') {
  // Rendering needs no database.
  const figures = await benchRender({ iterations: renders });
  console.log(`Render per template (${renders} renders each, after warm-up; target p95 <= 3 ms)`);
  console.table(figures);
  await mkdir('bench/results', { recursive: true });
  const file = `bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}-render.json`;
  await writeFile(file, JSON.stringify({ at: new Date().toISOString(), render: figures }, null, 2));
  console.log(`\nwrote ${file}`);
  process.exit(0);
}

const database = await benchDatabase();
const machine = `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${database.server}`;
console.log(`machine: ${machine}\n`);
const results: Record<string, unknown> = { at: new Date().toISOString(), machine };
try {
  if (!only || only === 'enqueue') {
    const figures = await benchEnqueue(database, { seconds, rounds });
    results.enqueue = figures;
    console.log(`Enqueue inside an app transaction (${rounds} alternating rounds of ${seconds} s per variant)`);
    console.table(figures);
    for (const clients of [1, 16]) {
      const base = figures.find((f) => f.clients === clients && f.variant === 'token only')!;
      const withIt = figures.find((f) => f.clients === clients && f.variant !== 'token only')!;
      console.log(
        `  ${clients} client(s): marginal p50 ${(withIt.p50Ms - base.p50Ms).toFixed(3)} ms, throughput ratio ${(withIt.perSecond / base.perSecond).toFixed(2)}x`,
      );
    }
    console.log();
  }
  if (!only) {
    const figures = await benchRender({ iterations: renders });
    results.render = figures;
    console.log(`Render per template (${renders} renders each, after warm-up; target p95 <= 3 ms)`);
    console.table(figures);
    console.log();
  }
  if (only === 'explain') {
    // Slow (seeds a million rows): only when asked for by name.
    results.explain = await benchExplain(database, { rows: Number(process.env.BENCH_EXPLAIN_ROWS ?? 1_000_000) });
  }
  if (!only || only === 'throughput') {
    const figures = await benchThroughput(database, { emails, latencySeconds });
    results.throughput = figures;
    console.log(`End to end to a local SMTP sink (${emails} emails)`);
    console.table([
      { path: 'bare pooled nodemailer (baseline)', perSecond: figures.baselinePerSecond },
      { path: 'mailroom outbox -> worker -> SMTP -> audit', perSecond: figures.mailroomPerSecond },
    ]);
    console.log(`  ratio ${figures.ratio}x, duplicates at the sink: ${figures.duplicates}`);
    console.log(`  commit -> SMTP accepted at ${figures.latency.ratePerSecond}/s: p50 ${figures.latency.p50Ms} ms, p95 ${figures.latency.p95Ms} ms, p99 ${figures.latency.p99Ms} ms`);
    const legs = figures.latencyLegsP50Ms;
    console.log(`  legs (p50): commit -> relayed ${legs.relay} ms, relayed -> send starts ${legs.queueToSend} ms, send -> 250 recorded ${legs.send} ms`);
  }
  if (!only || only === 'signup') {
    const clients = Number(process.env.BENCH_SIGNUP_CLIENTS ?? 4);
    const figures = await benchSignup(database, { seconds, rounds, clients });
    results.signup = figures;
    console.log(`\nPOST /auth/signup of the reference app, ${clients} concurrent clients (${rounds} alternating rounds of ${seconds} s per variant)`);
    console.table(figures);
    for (const cost of [15, 10]) {
      const base = figures.find((f) => f.passwordCost === cost && f.variant === 'without email')!;
      const withIt = figures.find((f) => f.passwordCost === cost && f.variant === 'with verify-email')!;
      const share = (withIt.p50Ms - base.p50Ms) / withIt.p50Ms;
      console.log(`  scrypt 2^${cost}: the enqueue adds ${(withIt.p50Ms - base.p50Ms).toFixed(3)} ms at p50 (${(share * 100).toFixed(1)}% of the request), throughput ratio ${(withIt.perSecond / base.perSecond).toFixed(2)}x`);
    }
    console.log();
  }
  if (!only || only === 'transports') {
    const transportEmails = Number(process.env.BENCH_TRANSPORT_EMAILS ?? 2000);
    const figures = await benchTransports(database, { emails: transportEmails });
    results.transports = figures;
    console.log(`\nPer transport against local stand-ins (${transportEmails} emails; direct = transport.send(), 50 in flight)`);
    console.table(figures);
  }
  if (!only || only === 'workers') {
    const workerEmails = Number(process.env.BENCH_WORKER_EMAILS ?? 5000);
    const counts = (process.env.BENCH_WORKER_COUNTS ?? '1,2,4').split(',').map(Number);
    const figures = await benchWorkers(database, { emails: workerEmails, counts });
    results.workers = figures;
    console.log(`\n1, 2 and 4 worker processes draining ${workerEmails} committed rows into one SMTP sink (target: no duplicates; peak RSS <= 200 MB)`);
    console.table(figures);
  }
  if (!only || only === 'sustained') {
    const sustainedSeconds = Number(process.env.BENCH_SUSTAINED_SECONDS ?? 60);
    const rate = Number(process.env.BENCH_SUSTAINED_RATE ?? 200);
    const every = Number(process.env.BENCH_SAMPLE_SECONDS ?? 10);
    const samples = await benchSustained(database, { seconds: sustainedSeconds, ratePerSecond: rate, sampleEverySeconds: every });
    results.sustained = samples;
    console.log(`\nSustained: ${rate} emails/s enqueued (one transaction each) for ${sustainedSeconds} s, one worker process; dead tuples should stay flat`);
    console.table(samples);
  }
  // Not in the default run: it seeds a million rows and repeats enqueue and
  // throughput (several minutes). `npm run bench -- scale`.
  if (only === 'scale') {
    const historyRows = Number(process.env.BENCH_HISTORY_ROWS ?? 1_000_000);
    const figures = await benchScale(database, { historyRows, seconds, rounds, emails, latencySeconds });
    results.scale = figures;
    console.log(`\nScale: enqueue, throughput and latency on an empty outbox, then beside ${historyRows} historical rows (seeded in ${figures.seedSeconds} s); target within 1.1x`);
    console.table(Object.entries(figures.ratios).map(([figure, ratio]) => ({ figure, 'with history / empty': ratio })));
  }
  if (only === 'drain') {
    // Minutes long (60 s per variant per round): only when asked for.
    const options = {
      seconds: Number(process.env.BENCH_DRAIN_SECONDS ?? 60),
      warmupSeconds: Number(process.env.BENCH_DRAIN_WARMUP_SECONDS ?? 5),
      rounds: Number(process.env.BENCH_DRAIN_ROUNDS ?? 1),
      transports: (process.env.BENCH_DRAIN_TRANSPORTS ?? 'smtp,accept').split(',') as ('smtp' | 'accept')[],
      // e.g. BENCH_DRAIN_ENV=WORKER_CONCURRENCY=4,WORKER_BATCH_SIZE=100
      env: Object.fromEntries((process.env.BENCH_DRAIN_ENV ?? '').split(',').filter(Boolean).map((pair) => pair.split('=') as [string, string])),
    };
    console.log(`Sustained drain, ${options.seconds} s per variant after ${options.warmupSeconds} s warm-up (issue #7 target 2: smtp >= 0.7x baseline, accept >= 1,300/s)`);
    const figures = await benchDrain(database, options);
    results.drain = figures;
    console.table(figures);
  }
} finally {
  await database.close();
}
await mkdir('bench/results', { recursive: true });
const file = `bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
await writeFile(file, JSON.stringify(results, null, 2));
console.log(`\nwrote ${file}`);
