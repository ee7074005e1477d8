// startWorker(): the relay, the sender and the sweeper of one process, started from
// code with the app's config and typed options. `mailroom worker` is this, with the
// options read from the environment. Run as many as you like, in as many processes.
import type { Logger } from 'pino';
import { createLogger } from '../logger.ts';
import type { MailroomConfig } from '../define-config.ts';
import { connect, resolveDatabaseOptions, waitForDatabase, type DatabaseOptions, type Db } from '../db/connect.ts';
import { pendingMigrations } from '../db/migrate.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { SendQueue } from '../queue/send-queue.ts';
import { catalogueOf } from '../templates/catalogue.ts';
import type { Transport } from '../transports/transport.ts';
import { resolveWorkerSettings, type WorkerSettingsInput } from './settings.ts';
import { runWorker, type Worker } from './worker.ts';

export interface WorkerOptions extends WorkerSettingsInput {
  /** The app's config (defineConfig): which templates exist, how to render them. */
  config: MailroomConfig<any>;
  /** The database `mailroom migrate` prepared. The worker opens its own pools (concurrency + 4 connections, and pg-boss's 4). */
  databaseUrl: string;
  /** Where emails go: smtpTransport(), mailjetTransport(), captureTransport(), failoverTransport() or your own. stop() closes it, and so does a failed start. */
  transport: Transport;
  /** Default: mailroom's pino logger at level `info` on standard output, with secrets redacted. */
  logger?: Logger;
  /** Counters and histograms for /metrics (createMetrics() from mailroom/admin). Default: none. */
  metrics?: Metrics;
  /**
   * Timeouts and TCP keepalive of every connection the worker opens (its pool and
   * pg-boss's): `{ connectTimeoutMs: 10_000, statementTimeoutMs: 60_000,
   * idleInTransactionTimeoutMs: 60_000, keepAliveIdleMs: 10_000 }` by default
   * (DEFAULT_DATABASE_OPTIONS; 0 turns the last three off).
   */
  database?: DatabaseOptions;
  /**
   * While PostgreSQL cannot be reached at start, the worker logs one warning per try
   * and tries again (0.5 s, doubling up to 10 s); after this long it gives up and
   * rejects with DatabaseUnreachableError. 0: keep trying. Default 0.
   */
  startupDeadlineMs?: number;
  /** Abort a start still waiting for PostgreSQL (it rejects with the signal's reason). */
  signal?: AbortSignal;
}

export interface RunningWorker extends Worker {
  /** The worker's own database handle (for probes); closed by stop(). */
  readonly db: Db;
}

/**
 * Start a worker. Waits for PostgreSQL while it cannot be reached (see
 * `startupDeadlineMs`); refuses to start on a database that is not migrated. stop()
 * drains the batch in flight (within `shutdownGraceMs`), then closes the transport
 * and the pools, within `shutdownGraceMs` + 4 s whatever the database does.
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { loops, db, stop } = await startWorkerParts(options);
  return { db, health: () => loops.health(), stalledLoops: (now) => loops.stalledLoops(now), stop };
}

/** The same, with the loops apart from the pools (the CLI's probes and tests stop the loops alone). */
export async function startWorkerParts(options: WorkerOptions): Promise<{ loops: Worker; db: Db; stop(): Promise<void> }> {
  const settings = resolveWorkerSettings(options);
  const database = resolveDatabaseOptions(options.database, 'startWorker: database');
  const startupDeadlineMs = options.startupDeadlineMs ?? 0;
  if (!Number.isInteger(startupDeadlineMs) || startupDeadlineMs < 0) throw new RangeError('startWorker: startupDeadlineMs must be an integer of 0 or more');
  if (typeof options.databaseUrl !== 'string' || !/^postgres(ql)?:\/\//.test(options.databaseUrl)) {
    throw new RangeError('startWorker: databaseUrl must be a postgres:// URL');
  }
  if (!options.transport || typeof options.transport.send !== 'function') throw new TypeError('startWorker: transport must be a Transport');
  const catalogue = catalogueOf(options.config);
  // A non-essential email must never go out without a working way out of it.
  const needsLinks = catalogue.entries().find(([, definition]) => definition.unsubscribeCategory !== null);
  if (needsLinks && !settings.unsubscribe) {
    await options.transport.close().catch(() => {});
    throw new RangeError(`startWorker: template "${needsLinks[0]}" has unsubscribe links: give unsubscribe: { baseUrl, secret } (UNSUBSCRIBE_BASE_URL and UNSUBSCRIBE_SECRET)`);
  }
  const logger = options.logger ?? createLogger({ level: 'info' });
  // Every component now, not at the first send: a lazy import that cannot load (a
  // typo, a .tsx file without a loader) stops the start naming the template, instead
  // of failing each of its emails for good later.
  for (const [name, definition] of catalogue.entries()) {
    try {
      await definition.component();
    } catch (error) {
      await options.transport.close().catch(() => {});
      throw new Error(`template "${name}": its component cannot be loaded: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`, { cause: error });
    }
  }
  const db = connect(options.databaseUrl, { max: settings.concurrency + 4, applicationName: 'mailroom-worker', ...database });
  try {
    await waitForDatabase(db, { logger, deadlineMs: startupDeadlineMs, ...(options.signal ? { signal: options.signal } : {}) });
    const pending = await pendingMigrations(db.kysely);
    if (pending.length > 0) throw new Error(`the database is not migrated (pending: ${pending.join(', ')}); run \`mailroom migrate\` first`);
  } catch (error) {
    // A connection attempt still in flight is not waited for.
    await closeWithin(db, CLOSE_POOL_MS);
    await options.transport.close().catch(() => {});
    throw error;
  }
  const queue = SendQueue.create(options.databaseUrl, { supervise: true, database, onError: (error) => logger.error({ err: error }, 'pg-boss error') });
  let worker: Worker;
  try {
    await queue.start();
    worker = await runWorker({
      settings,
      catalogue,
      db,
      queue,
      transport: options.transport,
      logger,
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
  } catch (error) {
    await settlesWithin(queue.stop({ graceful: false }).catch(() => {}), CLOSE_POOL_MS);
    await closeWithin(db, CLOSE_POOL_MS);
    await options.transport.close().catch(() => {});
    throw error;
  }
  return {
    loops: worker,
    db,
    async stop() {
      await worker.stop();
      await closeWithin(db, CLOSE_POOL_MS);
    },
  };
}

/**
 * How long closing the pool may wait for queries still running: past it the pool is
 * left to end on its own (each query fails by its statement timeout at the latest).
 */
const CLOSE_POOL_MS = 1_000;

async function closeWithin(db: Db, ms: number): Promise<void> {
  await settlesWithin(db.close().catch(() => {}), ms);
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(resolve, ms, false)))]);
  } finally {
    clearTimeout(timer);
  }
}
