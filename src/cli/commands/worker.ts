import { loadConfig, type Config } from '../../config.ts';
import { connect, type Db } from '../../db/connect.ts';
import { pendingMigrations } from '../../db/migrate.ts';
import { createLogger, type Logger } from '../../logger.ts';
import { buildServer } from '../../http/server.ts';
import { createMetrics, type Metrics } from '../../metrics/metrics.ts';
import { createBoss } from '../../queue/boss.ts';
import { createTransportFromConfig } from '../../transports/index.ts';
import { startWorker, type Worker } from '../../worker/worker.ts';
import { onShutdownSignal } from '../process.ts';

export interface RunningWorker {
  worker: Worker;
  db: Db;
  stop(): Promise<void>;
}

/** Start relay, sender and sweeper against a migrated database. */
export async function launchWorker(config: Config, databaseUrl: string, logger: Logger, metrics?: Metrics): Promise<RunningWorker> {
  const db = connect(databaseUrl, { max: config.WORKER_CONCURRENCY + 4, applicationName: 'mailroom-worker' });
  const pending = await pendingMigrations(db.kysely);
  if (pending.length > 0) {
    await db.close();
    throw new Error(`the database is not migrated (pending: ${pending.join(', ')}); run \`mailroom migrate\` first`);
  }
  const boss = createBoss(databaseUrl, { supervise: true });
  boss.on('error', (error) => logger.error({ err: error }, 'pg-boss error'));
  await boss.start();
  const transport = createTransportFromConfig(config, logger);
  const worker = await startWorker({ config, db, boss, transport, logger, ...(metrics ? { metrics } : {}) });
  return {
    worker,
    db,
    async stop() {
      await worker.stop();
      await db.close();
    },
  };
}

export async function workerCommand(): Promise<void> {
  const config = loadConfig();
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required for `mailroom worker` (or run `mailroom dev`)');
  const logger = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY ?? false });
  const metrics = createMetrics();
  const running = await launchWorker(config, config.DATABASE_URL, logger, metrics);
  // WORKER_PORT: probes and this process's /metrics for the orchestrator and Prometheus.
  const server =
    config.WORKER_PORT === undefined
      ? undefined
      : buildServer({ db: running.db, logger, metrics, stalledLoops: () => running.worker.stalledLoops() });
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
