// `mailroom worker`: startWorker() with its options and transport read from the environment.
import { databaseOptionsFromEnv, loadConfig, workerSettingsFromEnv, type Config } from '../env.ts';
import { httpOptionsFromEnv } from '../http-from-env.ts';
import type { Db } from '../../db/connect.ts';
import { createLogger, type Logger } from '../../logger.ts';
import { buildServer } from '../../http/server.ts';
import { createMetrics, type Metrics } from '../../metrics/metrics.ts';
import type { Worker } from '../../worker/worker.ts';
import { startWorkerParts } from '../../worker/start-worker.ts';
import type { MailroomConfig } from '../../define-config.ts';
import { loadConfigFile } from '../load-config.ts';
import { closeHttpServer, onShutdownSignal, shutdownDeadlineMs } from '../process.ts';
import { createTransportFromConfig } from '../transport-from-env.ts';

export interface RunningWorker {
  worker: Worker;
  db: Db;
  stop(): Promise<void>;
}

/**
 * Start relay, sender and sweeper against a migrated database, configured from the
 * environment. While PostgreSQL cannot be reached it waits, logging each try, for
 * STARTUP_DEADLINE_MS (0: for ever) or until `signal` aborts.
 */
export async function launchWorker(
  mailroomConfig: MailroomConfig<any>,
  config: Config,
  databaseUrl: string,
  logger: Logger,
  metrics?: Metrics,
  signal?: AbortSignal,
): Promise<RunningWorker> {
  const transport = createTransportFromConfig(config, logger);
  // A failed start closes the transport itself.
  const started = await startWorkerParts({
    ...workerSettingsFromEnv(config),
    config: mailroomConfig,
    databaseUrl,
    transport,
    logger,
    database: databaseOptionsFromEnv(config),
    startupDeadlineMs: config.STARTUP_DEADLINE_MS,
    ...(signal ? { signal } : {}),
    ...(metrics ? { metrics } : {}),
  });
  return { worker: started.loops, db: started.db, stop: started.stop };
}

export async function workerCommand(flags: { config?: string }): Promise<void> {
  const config = loadConfig();
  const { config: mailroomConfig } = await loadConfigFile(flags.config);
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required for `mailroom worker` (or run `mailroom dev`)');
  const logger = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY ?? false });
  const metrics = createMetrics();
  // Listening from the start: a SIGTERM while the worker still waits for PostgreSQL
  // ends the wait and exits 0.
  const shutdown = new AbortController();
  let running: RunningWorker | undefined;
  let server: ReturnType<typeof buildServer> | undefined;
  let starting: Promise<unknown> = Promise.resolve();
  onShutdownSignal(
    async (signal) => {
      logger.info({ signal }, 'worker stopping');
      shutdown.abort();
      await starting.catch(() => {});
      await Promise.all([server ? closeHttpServer(server, config.SHUTDOWN_GRACE_MS, logger) : undefined, running?.stop()]);
      logger.info('worker stopped');
    },
    { deadlineMs: shutdownDeadlineMs(config) },
  );
  try {
    const launched = launchWorker(mailroomConfig, config, config.DATABASE_URL, logger, metrics, shutdown.signal);
    starting = launched;
    running = await launched;
  } catch (error) {
    if (shutdown.signal.aborted) return; // the shutdown handler exits
    throw error;
  }
  const worker = running;
  // WORKER_PORT: probes and this process's /metrics for the orchestrator and Prometheus.
  if (config.WORKER_PORT !== undefined) {
    server = buildServer({
      ...httpOptionsFromEnv(config),
      config: mailroomConfig,
      appRoutes: false,
      db: worker.db,
      logger,
      metrics,
      stalledLoops: () => worker.worker.stalledLoops(),
    });
    try {
      await server.listen({ port: config.WORKER_PORT, host: config.HOST, listenTextResolver: (a) => `worker probes and metrics at ${a}` });
    } catch (error) {
      await worker.stop();
      throw error;
    }
  }
  if (shutdown.signal.aborted) return;
  logger.info({ transport: config.MAIL_TRANSPORT, pid: process.pid }, 'worker started');
}
