// `mailroom worker`: relay, sender and sweeper in one process. Run as many such
// processes as you like; they coordinate only through PostgreSQL.
import type { Db } from '../db/connect.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { SendJob, SendQueue } from '../queue/send-queue.ts';
import { startRelay, type HeldRows, type Relay } from '../relay/relay.ts';
import { permitsAreFree } from '../ratelimit/permits.ts';
import type { Catalogue } from '../templates/catalogue.ts';
import type { Transport } from '../transports/transport.ts';
import { limiterOf, markRulesOf, sendBatch, sendMarked } from './send-batch.ts';
import { SenderSlots } from './sender-slots.ts';
import { describeStagingRules } from './staging.ts';
import type { WorkerSettings } from './settings.ts';
import { sweepLostRows } from './sweeper.ts';
import { rollUpAll } from '../audit/chart-rollups.ts';

/** How often a worker rolls up the admin charts' counts. */
const ROLL_UP_INTERVAL_MS = 60_000;

export interface WorkerDeps {
  settings: WorkerSettings;
  catalogue: Catalogue;
  db: Db;
  queue: SendQueue;
  transport: Transport;
  logger: Logger;
  metrics?: Metrics;
}

export interface Worker {
  /**
   * Stop taking work, let sends in flight finish for `shutdownGraceMs`, then abort
   * the rest; every row leaves `sending` (sent, retrying, or back to pending).
   * Resolves within `shutdownGraceMs` + STOP_AFTER_GRACE_MS (3 s) whatever PostgreSQL
   * does: rows a database that stopped answering never heard about stay `sending`
   * until the sweeper of another worker finds their lease run out.
   */
  stop(): Promise<void>;
  /** Liveness of the loops, for /readyz. */
  health(): {
    relayLastClaimAt: number;
    sweeperLastRunAt: number;
    inFlightBatches: number;
  };
  /** Loops that have not run for far longer than their interval (empty when all is well). */
  stalledLoops(now?: number): string[];
}

/**
 * After the grace period, how long stop() waits for PostgreSQL to take the last
 * results and pg-boss to stop, before it gives up on a database that does not answer.
 */
export const STOP_AFTER_GRACE_MS = 3_000;

export async function runWorker({ settings, catalogue, db, queue, transport, logger, metrics }: WorkerDeps): Promise<Worker> {
  let stopping = false;
  const abort = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const senderOptions = {
    pool: db.pool,
    catalogue,
    transport,
    logger,
    from: settings.from,
    messageIdDomain: settings.messageIdDomain,
    frontendBaseUrl: settings.frontendBaseUrl,
    retry: settings.retry,
    isStopping: () => stopping,
    abortSignal: abort.signal,
    ...(metrics ? { metrics } : {}),
    rateLimits: settings.rateLimits,
    staging: settings.staging,
    unsubscribe: settings.unsubscribe,
    leaseSeconds: settings.jobTimeoutSeconds,
  };
  // Loud: a staging deployment that forgot these mails real people, one that has
  // them where it should not (production) mails nobody.
  const staging = describeStagingRules(settings.staging);
  if (staging) logger.warn({ staging: settings.staging }, staging);
  // What the relay's claim for this process's senders marks by, and when it may:
  // with no rate limit in play and the transport not paused, no permit can hold a row back.
  const markRules = markRulesOf(senderOptions);
  const limiter = limiterOf(senderOptions);

  // One consumer per unit of concurrency, each sending one batch at a time; the
  // relay hands batches over itself while a slot is idle (relay.ts).
  // The relay is started below; a batch settled before that has nobody to tell.
  let relay: Relay | undefined;
  const slots = new SenderSlots(settings.concurrency);
  // Every batch in flight, for stop(); once settled, room in the queue again: a relay
  // waiting at RELAY_MAX_QUEUED may claim.
  const track = async (batch: Promise<void>, rows: number): Promise<void> => {
    inFlight.add(batch);
    try {
      await batch;
    } finally {
      inFlight.delete(batch);
      relay?.released(rows);
    }
  };
  const send = (jobs: SendJob[]): Promise<void> => track(slots.run(() => sendBatch(senderOptions, jobs)), jobs.length);
  await queue.consume({ consumers: settings.concurrency, batchSize: settings.batchSize }, (jobs) => send(jobs));

  // The relay's own hand-over, into slots it reserved before claiming: batches of at
  // most batchSize, sent without a pg-boss job. Rows the claim marked go straight to
  // the send; rows it left queued take their permits first. A batch that fails leaves
  // the rows it did not record queued or sending: when their lease runs out, the
  // sweeper puts them back in line.
  const handOver = (rows: HeldRows, reservedRows: number): void => {
    const size = settings.batchSize;
    const inBatches = <T>(list: T[]) => Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));
    const batches =
      'marked' in rows
        ? inBatches(rows.marked).map((marked) => ({ rows: marked.length, send: () => sendMarked(senderOptions, marked) }))
        : inBatches(rows.queued).map((queued) => ({
            rows: queued.length,
            send: () => sendBatch(senderOptions, queued.map((row) => ({ outboxId: row.id, jobId: row.job_id }))),
          }));
    // The claim took at most the rows reserved for: one reserved slot per batch.
    for (const batch of batches) {
      track(slots.runReserved(batch.send), batch.rows).catch((error) =>
        logger.error({ err: error }, 'sender: a batch handed over by the relay failed; rows it did not record come back when their lease runs out'),
      );
    }
    slots.unreserve(reservedRows / size - batches.length);
  };

  relay = startRelay({
    pool: db.pool,
    queue,
    logger,
    pollMs: settings.relay.pollMs,
    busyPollMs: settings.relay.busyPollMs,
    batchSize: settings.relay.batchSize,
    maxQueued: settings.relay.maxQueued,
    jobTimeoutSeconds: settings.jobTimeoutSeconds,
    onQueued: () => queue.wake(),
    local: {
      room: () => (stopping ? 0 : slots.idle() * settings.batchSize),
      reserve: (rows) => (stopping ? 0 : slots.reserve(Math.ceil(rows / settings.batchSize)) * settings.batchSize),
      markRules: async () => ((!limiter || (await permitsAreFree(limiter))) ? markRules : null),
      hand: handOver,
    },
  });

  let sweeperLastRunAt = Date.now();
  const sweep = oneAtATime(async () => {
    try {
      const { requeued, fromSending } = await sweepLostRows(db.pool);
      sweeperLastRunAt = Date.now();
      if (requeued > 0) {
        logger.warn({ requeued, fromSending }, 'sweeper: re-queued rows whose job was lost');
        relay.wake();
      }
    } catch (error) {
      logger.error({ err: error }, 'sweeper: sweep failed');
    }
  });
  const sweeper = setInterval(sweep, settings.sweepIntervalMs);
  void sweep();

  // The admin charts' rollups (migrations/0020): adds up the attempts of the last
  // minutes. Reads mailroom's own tables only, off the send path.
  const rollUpCharts = oneAtATime(async () => {
    try {
      await rollUpAll(db.kysely);
    } catch (error) {
      logger.warn({ err: error }, 'rolling up the admin charts failed; the next minute tries again');
    }
  });
  const rollUpTimer = setInterval(rollUpCharts, ROLL_UP_INTERVAL_MS);
  rollUpTimer.unref();

  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        stopping = true;
        clearInterval(sweeper);
        clearInterval(rollUpTimer);
        // Stop fetching and claiming at once, without waiting on PostgreSQL: the relay may
        // be inside a claim, and the sends in flight get the whole grace period meanwhile.
        const offWork = queue.stopConsuming();
        const relayStopped = relay.stop();
        const drained = await waitFor(Promise.allSettled([...inFlight]), settings.shutdownGraceMs);
        if (!drained) {
          logger.warn({ batches: inFlight.size }, 'shutdown: sends still in flight after the grace period; abandoning them');
          // Abandoned sends are recorded as ambiguous attempts and retried later.
          abort.abort();
        }
        // What is left waits on PostgreSQL alone: the relay ends its claim, the batches
        // record their attempts, pg-boss fails what is still active and closes its pool. A
        // database that does not answer holds this for STOP_AFTER_GRACE_MS, no longer:
        // rows it never heard about stay `sending`, and the sweeper of the next worker
        // puts them back once their lease runs out.
        const finished = await waitFor(
          (async () => {
            // The relay's last claim and pg-boss's last fetch may still hand a batch over
            // (its rows are released, not sent): wait for those first, then for every batch.
            await Promise.all([relayStopped, offWork]);
            await Promise.allSettled([...inFlight]);
            await queue.stop({ graceful: true, timeoutMs: 2_000 });
          })(),
          STOP_AFTER_GRACE_MS,
        );
        if (!finished) {
          logger.warn(
            { waitedMs: STOP_AFTER_GRACE_MS, batches: inFlight.size },
            'shutdown: PostgreSQL did not answer; stopping without it (rows left sending are put back by the sweeper once their job expires)',
          );
        }
        await transport.close();
      })();
      return stopped;
    },
    health: () => ({
      relayLastClaimAt: relay.lastClaimAt(),
      sweeperLastRunAt,
      inFlightBatches: inFlight.size,
    }),
    stalledLoops(now = Date.now()) {
      // Generous bounds: a claim or a sweep can wait out a slow database, and the
      // relay backs off up to 30 s after errors; stalled means stuck, not slow.
      const stalled: string[] = [];
      if (stopping) stalled.push('worker is stopping');
      if (now - relay.lastClaimAt() > Math.max(60_000, 20 * settings.relay.pollMs)) stalled.push('relay');
      if (now - sweeperLastRunAt > Math.max(60_000, 3 * settings.sweepIntervalMs)) stalled.push('sweeper');
      return stalled;
    },
  };
}

/**
 * A timer's task that skips its turn while the last run is still going: a sweep
 * waiting on a lock (a migration, a long transaction) is not joined by another
 * every interval, each holding one of the pool's connections until none is left
 * for the senders.
 */
function oneAtATime(task: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= task().finally(() => (running = undefined));
    return running;
  };
}

async function waitFor(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
