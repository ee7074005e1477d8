// Chaos: 5,000 emails while worker processes are SIGKILLed 20 times at random
// moments (two run at a time, each killed one is replaced), PostgreSQL is
// restarted once under them, and the SMTP server refuses about 20% of messages
// with 451 and now and then never answers the end of DATA. At the end every row
// is sent, every outbox id reached the SMTP server, and the duplicates are
// counted, bounded by what the killed workers (and the restart) had in flight,
// and explained by ambiguous attempts in the audit trail.
//
// It owns its PostgreSQL (an embedded one on a free port, not the shared test
// server), so it can restart it. Seeded: CHAOS_SEED replays the same schedule of
// kills, refusals and hangs (timing on a busy machine still varies).
// CHAOS_TOTAL and CHAOS_KILLS scale it for experiments.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort, startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { migrate } from '../src/migrate.ts';
import { seededRandom, startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';
import { spawnCli, statusCounts, testEnv, waitUntil, type ChildWorker } from './support/worker.ts';
import { config } from './support/mailroom.ts';

const SEED = Number(process.env.CHAOS_SEED ?? 20261128);
const TOTAL = Number(process.env.CHAOS_TOTAL ?? 5000);
const KILLS = Number(process.env.CHAOS_KILLS ?? 20);
const WORKERS = 2;
const BATCH_SIZE = 10;
const CONCURRENCY = 2;
/** At most this many rows are `sending` in one worker process at a time. */
const IN_FLIGHT_PER_WORKER = BATCH_SIZE * CONCURRENCY;
/** Rows enqueued before the first worker starts; the rest arrive while workers die. */
const UP_FRONT = Math.round(TOTAL / 5);
const MESSAGE_ID_DOMAIN = 'chaos.mailroom.test';

let root: string;
let dataDir: string;
let port: number;
let postgres: EmbeddedPostgres | undefined;
let pool: pg.Pool;
let sink: SmtpSink;
const everyWorker: ChildWorker[] = [];

beforeAll(async () => {
  console.log(`chaos: seed ${SEED} (CHAOS_SEED=${SEED} to replay), ${TOTAL} emails, ${KILLS} kills, 1 PostgreSQL restart`);
  root = await mkdtemp(join(tmpdir(), 'mailroom-chaos-'));
  await chmod(root, 0o755); // the server runs as the postgres user
  dataDir = join(root, 'data');
  port = await freePort();
  postgres = await startEmbeddedPostgres({ dataDir, port, database: 'chaos' });
  await migrate({ databaseUrl: postgres.url, config });
  pool = new pg.Pool({ connectionString: postgres.url, max: 3 });
  pool.on('error', () => {}); // idle clients lose their connection at the restart
  // Enough tries that 451s, hangs, kills and the restart never exhaust a row.
  await pool.query(`update mailroom.template set max_attempts = 50 where name = 'account-confirm'`);
  sink = await startSmtpSink({ keepBodies: false });
  sink.setRandomFailures(0.2, 451, SEED);
  sink.setRandomHangs(0.01, SEED + 1);
});

afterAll(async () => {
  for (const w of everyWorker) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await Promise.all(everyWorker.map((w) => w.exited));
  await pool?.end().catch(() => {});
  await sink?.close();
  await postgres?.stop().catch(() => {});
  if (root) await rm(root, { recursive: true, force: true, maxRetries: 3 });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let enqueued = 0;
async function enqueue(count: number): Promise<void> {
  const from = enqueued + 1;
  const to = Math.min(TOTAL, enqueued + count);
  if (to < from) return;
  await pool.query(
    `select mailroom.enqueue('account-confirm', 'chaos-' || g || '@example.test',
                             jsonb_build_object('token', 'chaos-token-' || lpad(g::text, 12, '0')))
       from generate_series($1::int, $2::int) g`,
    [from, to],
  );
  enqueued = to;
}

it(
  'loses no email through 20 SIGKILLs, a PostgreSQL restart, 451s and hung DATA; duplicates stay within the batches in flight',
  async () => {
    const startedAt = Date.now();
    const random = seededRandom(SEED + 2);
    const env = testEnv(postgres!.url, sink.url, {
      WORKER_BATCH_SIZE: String(BATCH_SIZE),
      WORKER_CONCURRENCY: String(CONCURRENCY),
      SMTP_MAX_CONNECTIONS: '4',
      SMTP_TIMEOUT_MS: '1000', // a hung DATA costs one second, then the try is retried
      // The lease: above the slowest live batch (10 sends over 4 connections, each
      // at most 1 s), so only dead workers' rows are swept.
      WORKER_JOB_TIMEOUT_S: '8',
      SWEEP_INTERVAL_MS: '300',
      RETRY_BASE_MS: '50',
      RETRY_MAX_MS: '1000',
      MESSAGE_ID_DOMAIN,
      LOG_LEVEL: 'warn',
    });

    // Workers that exit without being killed by us are a bug: remember them.
    const unexpectedExits: string[] = [];
    const killed = new Set<ChildWorker>();
    // Each worker serves /healthz (no database call) on a port of its own: the test
    // restarts PostgreSQL only under workers that have finished starting: the restart
    // is meant for workers mid-flight (a worker still starting would only wait for
    // PostgreSQL, logging each try: test/faults.startup-retries.test.ts).
    const ports = new Map<ChildWorker, number>();
    const spawnWorker = async () => {
      const workerPort = await freePort();
      const worker = spawnCli(['worker'], { ...env, WORKER_PORT: String(workerPort) });
      ports.set(worker, workerPort);
      everyWorker.push(worker);
      void worker.exited.then(({ code, signal }) => {
        if (!killed.has(worker) && !stopping) unexpectedExits.push(`worker ${worker.child.pid} exited (code ${code}, signal ${signal}):\n${worker.output().slice(-2000)}`);
      });
      return worker;
    };
    const probe = (worker: ChildWorker, path: '/healthz' | '/readyz') =>
      waitUntil(
        () => fetch(`http://127.0.0.1:${ports.get(worker)}${path}`).then((r) => r.status, () => 0),
        (status) => status === 200,
        60_000,
        `worker ${worker.child.pid} answering ${path} with 200`,
      );
    let stopping = false;

    await enqueue(UP_FRONT);
    const workers = await Promise.all(Array.from({ length: WORKERS }, spawnWorker));
    await sink.waitFor(1, 60_000);

    const perKill = Math.ceil((TOTAL - UP_FRONT) / KILLS);
    const restartAt = Math.floor(KILLS / 2);
    let restartBound = 0;
    let postgresDownMs = 0;
    let recoveredWithoutRestart = false;
    for (let kill = 0; kill < KILLS; kill++) {
      await sleep(250 + random() * 1250);
      if (kill === restartAt) {
        // PostgreSQL goes away under both workers, mid-batch, and comes back on the same port.
        await Promise.all(workers.map((w) => probe(w, '/healthz')));
        restartBound = WORKERS * IN_FLIGHT_PER_WORKER;
        const downAt = Date.now();
        await postgres!.stop();
        await sleep(500 + random() * 1500);
        postgres = await startEmbeddedPostgres({ dataDir, port, database: 'chaos' });
        postgresDownMs = Date.now() - downAt;
        // The same processes carry on: new mail gets sent without any restart.
        const before = sink.messages.length;
        await enqueue(perKill);
        await sink.waitFor(before + 20, 60_000).catch((error: Error) => {
          throw new Error(`${error.message} after the PostgreSQL restart\n${workers.map((w) => w.output().slice(-2000)).join('\n---\n')}`);
        });
        // Each of them reconnected: /readyz queries PostgreSQL through the worker's own pool.
        await Promise.all(workers.map((w) => probe(w, '/readyz')));
        recoveredWithoutRestart = workers.every((w) => w.child.exitCode === null && w.child.signalCode === null);
      }
      const slot = random() < 0.5 ? 0 : 1;
      const victim = workers[slot]!;
      killed.add(victim);
      victim.child.kill('SIGKILL');
      await victim.exited;
      workers[slot] = await spawnWorker();
      if (kill !== restartAt) await enqueue(perKill);
    }
    await enqueue(TOTAL); // whatever rounding left over
    const killsDoneS = (Date.now() - startedAt) / 1000;
    expect(enqueued).toBe(TOTAL);

    const final = await waitUntil(
      () => statusCounts(pool),
      (counts) => (counts.sent ?? 0) === TOTAL,
      240_000,
      `all ${TOTAL} rows sent`,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${workers.map((w) => w.output().slice(-2000)).join('\n---\n')}`);
    });
    stopping = true;
    for (const w of workers) w.child.kill('SIGTERM');
    const exits = await Promise.all(workers.map((w) => w.exited));
    const elapsedS = (Date.now() - startedAt) / 1000;

    // ---- what reached the SMTP server --------------------------------------------
    const { rows: outbox } = await pool.query<{ id: string }>('select id from mailroom.outbox');
    const copies = new Map<string, number>();
    for (const m of sink.messages) {
      const id = /^<([0-9a-f-]{36})@/.exec(m.messageId)?.[1];
      if (id) copies.set(id, (copies.get(id) ?? 0) + 1);
    }
    const missing = outbox.filter((r) => !copies.has(r.id)).map((r) => r.id);
    const duplicated = [...copies].filter(([, n]) => n > 1);
    const duplicates = duplicated.reduce((sum, [, n]) => sum + n - 1, 0);

    // ---- what the audit trail says ------------------------------------------------
    const { rows: audit } = await pool.query<{ outbox_id: string; ambiguous: number; timed_out: number; sent: number }>(
      `select outbox_id,
              count(*) filter (where error_class = 'ambiguous')::int as ambiguous,
              count(*) filter (where error_class = 'transient' and error_message ilike '%timeout%')::int as timed_out,
              count(*) filter (where outcome = 'sent')::int as sent
         from mailroom.delivery_attempt group by outbox_id`,
    );
    const byRow = new Map(audit.map((a) => [a.outbox_id, a]));
    const totals = audit.reduce(
      (t, a) => ({ ambiguous: t.ambiguous + a.ambiguous, timedOut: t.timedOut + a.timed_out, sentTwice: t.sentTwice + (a.sent > 1 ? 1 : 0) }),
      { ambiguous: 0, timedOut: 0, sentTwice: 0 },
    );
    // A duplicate is explained when its row has an ambiguous attempt for each extra
    // copy: a worker lost while sending (the sweeper records it), or an SMTP timeout
    // after the message data went out (the transport classes it so).
    const unexplained = duplicated.filter(([id, n]) => (byRow.get(id)?.ambiguous ?? 0) < n - 1);
    let deliveriesAtSink = 0; // accepted, refused with 451, or hung
    for (let n = 1; n <= TOTAL; n++) deliveriesAtSink += sink.attemptsFor(`chaos-${n}@example.test`);
    const bound = KILLS * IN_FLIGHT_PER_WORKER + restartBound;

    console.log(
      [
        `chaos seed ${SEED}: ${TOTAL} emails, ${KILLS} SIGKILLs, PostgreSQL down ${postgresDownMs} ms once, ${elapsedS.toFixed(1)} s (kills done at ${killsDoneS.toFixed(1)} s)`,
        `  the SMTP server saw ${deliveriesAtSink} deliveries (accepted, 451 or hung) and accepted ${sink.messages.length}`,
        `  duplicates at the SMTP server: ${duplicates} (on ${duplicated.length} rows); bound ${bound} = ${KILLS} kills x ${IN_FLIGHT_PER_WORKER} + restart ${restartBound}`,
        `  ambiguous attempts: ${totals.ambiguous}; transient SMTP timeouts: ${totals.timedOut}; rows with two 'sent' attempts: ${totals.sentTwice}; unexplained duplicates: ${unexplained.length}`,
        `  workers survived the PostgreSQL restart without being restarted: ${recoveredWithoutRestart}`,
      ].join('\n'),
    );

    expect(unexpectedExits, 'worker processes that died on their own').toEqual([]);
    expect(recoveredWithoutRestart).toBe(true);
    expect(final).toEqual({ sent: TOTAL });
    expect(outbox).toHaveLength(TOTAL);
    expect(missing, 'outbox ids the SMTP server never accepted').toEqual([]);
    expect(duplicates).toBeLessThanOrEqual(bound);
    expect(unexplained.map(([id, n]) => `${id} x${n}: ${JSON.stringify(byRow.get(id))}`), 'duplicates without an ambiguous attempt').toEqual([]);
    expect(totals.ambiguous).toBeGreaterThanOrEqual(duplicates);
    for (const exit of exits) expect(exit.code).toBe(0);
  },
  480_000,
);
