// `mailroom serve`: the HTTP server (probes, /metrics, webhooks, admin pages) until
// SIGTERM / SIGINT, which stops accepting, lets requests in flight end, and closes
// the database pool.
import { loadConfig } from '../env.ts';
import { connect } from '../../db/connect.ts';
import { ValidationError } from '../../errors.ts';
import { buildServer } from '../../http/server.ts';
import { createLogger } from '../../logger.ts';
import { registerDatabaseGauges } from '../../metrics/database-gauges.ts';
import { createMetrics } from '../../metrics/metrics.ts';
import { loadConfigFile } from '../load-config.ts';
import { onShutdownSignal } from '../process.ts';

export async function serveCommand(flags: { config?: string }): Promise<void> {
  const config = loadConfig();
  const { config: mailroomConfig } = await loadConfigFile(flags.config);
  if (!config.DATABASE_URL) throw new ValidationError('DATABASE_URL', 'is required for `mailroom serve` (e.g. postgres://user@host/db)');
  const logger = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY ?? false });
  // A few connections are plenty for probes and admin reads. The pool connects
  // lazily: the server starts (and /healthz answers) while PostgreSQL is still down,
  // and /readyz says so.
  const db = connect(config.DATABASE_URL, { max: 4, applicationName: 'mailroom-api' });
  const metrics = createMetrics();
  registerDatabaseGauges(metrics.registry, db);
  const server = buildServer({
    config: mailroomConfig,
    db,
    databaseUrl: config.DATABASE_URL,
    logger,
    metrics,
    mailjetWebhookSecret: config.MAILJET_WEBHOOK_SECRET,
    adminToken: config.ADMIN_TOKEN,
    frontendBaseUrl: config.FRONTEND_BASE_URL,
  });
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
  onShutdownSignal(async (signal) => {
    logger.info({ signal }, 'api stopping');
    await server.close();
    await db.close();
    logger.info('api stopped');
  });
}
