// `npm run bench [-- enqueue|sql-enqueue|throughput|render|transports|workers|sustained|scale|signup|explain|dashboard]`: runs the benchmarks, prints a table,
// writes bench/results/<time>.json. Figures mean something only beside their
// baseline from the same run; see docs/performance.md.
import { mkdir, writeFile } from 'node:fs/promises';
import { registerHooks } from 'node:module';
import os from 'node:os';
import type { DrainVariant } from './drain.ts';

// The product (mailroom.config.ts, emails/) imports 'mailroom' like any app. Here it
// must resolve to the TypeScript source (the `mailroom-source` export condition, as
// bin/mailroom.js and vitest.config.ts arrange), never to a dist/ that is missing or
// stale. Static imports are all resolved before any code runs, so the benchmarks
// are imported after the hook.
registerHooks({ resolve: (specifier, context, next) => next(specifier, { ...context, conditions: [...context.conditions, 'mailroom-source'] }) });
const [
  { benchDashboard },
  { benchDrain, printDrain },
  { benchEnqueue },
  { benchExplain },
  { benchRender },
  { benchSignup },
  { benchSqlEnqueue },
  { benchDatabase },
  { benchThroughput },
  { benchScale },
  { benchSustained },
  { benchTransports },
  { benchWorkers },
] = await Promise.all([
  import('./dashboard.ts'),
  import('./drain.ts'),
  import('./enqueue.ts'),
  import('./explain.ts'),
  import('./render.ts'),
  import('./signup.ts'),
  import('./sql-enqueue.ts'),
  import('./support/database.ts'),
  import('./throughput.ts'),
  import('./scale.ts'),
  import('./sustained.ts'),
  import('./transports.ts'),
  import('./workers.ts'),
]);

const only = process.argv[2];
const BENCHES = ['enqueue', 'sql-enqueue', 'throughput', 'render', 'transports', 'workers', 'sustained', 'scale', 'signup', 'explain', 'drain', 'dashboard'];
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
  if (!only || only === 'sql-enqueue') {
    // Issue 13: five variants, so 3 s each per round unless BENCH_SECONDS says otherwise.
    const sqlSeconds = Number(process.env.BENCH_SECONDS ?? 3);
    const serverCalls = Number(process.env.BENCH_SERVER_CALLS ?? 2000);
    const result = await benchSqlEnqueue(database, { seconds: sqlSeconds, rounds, serverCalls });
    results['sql-enqueue'] = result;
    console.log(
      `SQL enqueue (${result.template}, props ${JSON.stringify(result.props)}; mailroom.enqueue as migration ${result.enqueueMigration} defines it) inside an app transaction:` +
        ` token insert, the variant, commit (${rounds} rounds of ${sqlSeconds} s per variant, order forward then backward;` +
        ` ratio = tx/s over token-only in the same round, median and range; marginal = p50 over token-only's)`,
    );
    console.table(result.figures);
    const signed = (ms: number) => `${ms >= 0 ? '+' : ''}${ms.toFixed(3)} ms`;
    for (const clients of [1, 16]) {
      const f = (variant: string) => result.figures.find((x) => x.clients === clients && x.variant === variant)!;
      const today = f('token + mailroom.enqueue');
      const beside = (variant: string, name: string) =>
        `${signed(today.p50Ms - f(variant).p50Ms)} p50 beside ${name} (tx/s ${(today.perSecond / f(variant).perSecond).toFixed(2)}x)`;
      console.log(
        `  ${clients} client(s), mailroom.enqueue: ${beside('token + TypeScript enqueue', 'the TypeScript enqueue')}, ${beside('token + 0010 enqueue', "0010's")},` +
          ` ${beside('token + pre-0010 enqueue', 'the pre-0010 function')}; marginal p50: ` +
          result.figures.filter((x) => x.clients === clients && x.variant !== 'token only').map((x) => `${x.variant.replace('token + ', '')} ${x.marginalP50Ms}`).join(', ') +
          ' ms',
      );
    }
    if (typeof result.serverTime === 'string') console.log(`  PostgreSQL time per call: ${result.serverTime}`);
    else {
      console.log(`  PostgreSQL time per call (track_functions = 'pl', 1 client, ${serverCalls} calls of each SQL variant, interleaved):`);
      console.table(result.serverTime);
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
  if (only === 'dashboard') {
    // Very slow (seeds 10 million rows and their attempts, several GB): only when asked for by name.
    results.dashboard = await benchDashboard(database, { rows: Number(process.env.BENCH_DASHBOARD_ROWS ?? 10_000_000) });
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
    // Minutes long (60 s per variant per round, 5 variants, 3 rounds): only when asked for.
    const options = {
      seconds: Number(process.env.BENCH_DRAIN_SECONDS ?? 60),
      warmupSeconds: Number(process.env.BENCH_DRAIN_WARMUP_SECONDS ?? 5),
      rounds: Number(process.env.BENCH_DRAIN_ROUNDS ?? 3),
      transports: (process.env.BENCH_DRAIN_TRANSPORTS ?? 'smtp,accept').split(',') as ('smtp' | 'accept')[],
      // e.g. BENCH_DRAIN_ENV=WORKER_CONCURRENCY=4,WORKER_BATCH_SIZE=100
      env: Object.fromEntries((process.env.BENCH_DRAIN_ENV ?? '').split(',').filter(Boolean).map((pair) => pair.split('=') as [string, string])),
      // e.g. BENCH_DRAIN_VARIANTS=mailroom,pg-boss peer (default: nodemailer,mailroom,pg-boss peer)
      ...(process.env.BENCH_DRAIN_VARIANTS ? { variants: process.env.BENCH_DRAIN_VARIANTS.split(',') as DrainVariant[] } : {}),
    };
    console.log(
      `Sustained drain, ${options.seconds} s per variant after ${options.warmupSeconds} s warm-up, ${options.rounds} interleaved rounds:` +
        ` bare nodemailer, mailroom and a hand-written pg-boss + nodemailer worker (issue 17: smtp >= 0.85x nodemailer and ahead of the peer; accept >= the peer, PostgreSQL <= 0.12 ms per email)`,
    );
    const figures = await benchDrain(database, options);
    results.drain = figures;
    printDrain(figures);
  }
} finally {
  await database.close();
}
await mkdir('bench/results', { recursive: true });
const file = `bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
await writeFile(file, JSON.stringify(results, null, 2));
console.log(`\nwrote ${file}`);
