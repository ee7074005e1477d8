// `mailroom serve`: the HTTP server (probes, /metrics, webhooks, admin pages) until
// SIGTERM / SIGINT, which stops accepting, lets requests in flight end (for
// SHUTDOWN_GRACE_MS, then cuts them), and closes the database pool.
import { databaseOptionsFromEnv, loadConfig } from '../env.ts';
import { httpOptionsFromEnv } from '../http-from-env.ts';
import { connect, waitForDatabase } from '../../db/connect.ts';
import { ValidationError } from '../../errors.ts';
import { buildServer } from '../../http/server.ts';
import { catalogueOf } from '../../templates/catalogue.ts';
import { createLogger } from '../../logger.ts';
import { registerDatabaseGauges } from '../../metrics/database-gauges.ts';
import { createMetrics } from '../../metrics/metrics.ts';
import { loadConfigFile } from '../load-config.ts';
import { closeHttpServer, exitWithError, onShutdownSignal, settlesWithin, shutdownDeadlineMs } from '../process.ts';

export async function serveCommand(flags: { config?: string }): Promise<void> {
  const config = loadConfig();
  const { config: mailroomConfig } = await loadConfigFile(flags.config);
  if (!config.DATABASE_URL) throw new ValidationError('DATABASE_URL', 'is required for `mailroom serve` (e.g. postgres://user@host/db)');
  const logger = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY ?? false });
  // A few connections are plenty for probes and admin reads. The pool connects
  // lazily: the server starts (and /healthz answers) while PostgreSQL is still down,
  // and /readyz says so.
  const db = connect(config.DATABASE_URL, { max: 4, applicationName: 'mailroom-api', ...databaseOptionsFromEnv(config) });
  const metrics = createMetrics();
  registerDatabaseGauges(metrics.registry, db);
  const server = buildServer({
    ...httpOptionsFromEnv(config),
    config: mailroomConfig,
    db,
    databaseUrl: config.DATABASE_URL,
    logger,
    metrics,
    mailjetWebhookSecret: config.MAILJET_WEBHOOK_SECRET,
    adminToken: config.ADMIN_TOKEN,
    frontendBaseUrl: config.FRONTEND_BASE_URL,
    unsubscribeSecret: config.UNSUBSCRIBE_SECRET,
  });
  const unsubscribable = catalogueOf(mailroomConfig).entries().find(([, t]) => t.unsubscribeCategory);
  if (unsubscribable && !config.UNSUBSCRIBE_SECRET) {
    logger.warn(`template "${unsubscribable[0]}" carries unsubscribe links, but UNSUBSCRIBE_SECRET is unset: this server does not answer them`);
  }
  try {
    await server.listen({
      port: config.PORT,
      host: config.HOST,
      listenTextResolver: (address) => `mailroom api listening at ${address}`,
    });
  } catch (error) {
    await server.close().catch(() => {});
    await db.close();
    throw error;
  }
  const shutdown = new AbortController();
  onShutdownSignal(
    async (signal) => {
      logger.info({ signal }, 'api stopping');
      shutdown.abort();
      await closeHttpServer(server, config.SHUTDOWN_GRACE_MS, logger);
      // Queries of requests that were cut end by their own timeouts; not waited for.
      await settlesWithin(db.close(), 1_000);
      logger.info('api stopped');
    },
    { deadlineMs: shutdownDeadlineMs(config) },
  );
  // Serving already: say whether PostgreSQL answers, one line per failed try, and with
  // STARTUP_DEADLINE_MS give up (exit 1) if it never does.
  waitForDatabase(db, { logger, deadlineMs: config.STARTUP_DEADLINE_MS, signal: shutdown.signal }).catch((error: unknown) => {
    if (shutdown.signal.aborted) return;
    exitWithError(error);
  });
}
