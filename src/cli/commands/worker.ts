// `mailroom worker`: startWorker() with its options and transport read from the environment.
import { loadConfig, workerSettingsFromEnv, type Config } from '../env.ts';
import type { Db } from '../../db/connect.ts';
import { createLogger, type Logger } from '../../logger.ts';
import { buildServer } from '../../http/server.ts';
import { createMetrics, type Metrics } from '../../metrics/metrics.ts';
import type { Worker } from '../../worker/worker.ts';
import { startWorkerParts } from '../../worker/start-worker.ts';
import type { MailroomConfig } from '../../define-config.ts';
import { loadConfigFile } from '../load-config.ts';
import { onShutdownSignal } from '../process.ts';
import { createTransportFromConfig } from '../transport-from-env.ts';

export interface RunningWorker {
  worker: Worker;
  db: Db;
  stop(): Promise<void>;
}

/** Start relay, sender and sweeper against a migrated database, configured from the environment. */
export async function launchWorker(
  mailroomConfig: MailroomConfig<any>,
  config: Config,
  databaseUrl: string,
  logger: Logger,
  metrics?: Metrics,
): Promise<RunningWorker> {
  const transport = createTransportFromConfig(config, logger);
  // A failed start closes the transport itself.
  const started = await startWorkerParts({
    ...workerSettingsFromEnv(config),
    config: mailroomConfig,
    databaseUrl,
    transport,
    logger,
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
  const running = await launchWorker(mailroomConfig, config, config.DATABASE_URL, logger, metrics);
  // WORKER_PORT: probes and this process's /metrics for the orchestrator and Prometheus.
  const server =
    config.WORKER_PORT === undefined
      ? undefined
      : buildServer({ config: mailroomConfig, appRoutes: false, db: running.db, logger, metrics, stalledLoops: () => running.worker.stalledLoops() });
  if (server) {
    try {
      await server.listen({ port: config.WORKER_PORT!, host: config.HOST, listenTextResolver: (a) => `worker probes and metrics at ${a}` });
    } catch (error) {
      await running.stop();
      throw error;
    }
  }
  logger.info({ transport: config.MAIL_TRANSPORT, pid: process.pid }, 'worker started');
  onShutdownSignal(async (signal) => {
    logger.info({ signal }, 'worker stopping');
    await server?.close();
    await running.stop();
    logger.info('worker stopped');
  });
}
