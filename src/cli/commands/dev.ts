// `mailroom dev` (what `npm start` runs): the whole system in one process, on an
// embedded PostgreSQL under .data/postgres unless DATABASE_URL names one, sending
// through the capture transport into .data/mail.
import { resolve } from 'node:path';
import { loadConfig } from '../env.ts';
import { portOrFree, startEmbeddedPostgres, type EmbeddedPostgres } from '../../db/embedded-postgres.ts';
import { buildServer, type Server } from '../../http/server.ts';
import { createLogger } from '../../logger.ts';
import { registerDatabaseGauges } from '../../metrics/database-gauges.ts';
import { createMetrics } from '../../metrics/metrics.ts';
import { devAdminToken } from '../../admin/http/session.ts';
import { migrate } from '../../migrate.ts';
import { loadConfigFile } from '../load-config.ts';
import { onShutdownSignal } from '../process.ts';
import { launchWorker } from './worker.ts';

const DEFAULT_EMBEDDED_PORT = 54329;

export async function devCommand(options: { dataDir: string; config?: string }): Promise<void> {
  // Development defaults: captured mail and readable logs, unless the environment says otherwise.
  const config = loadConfig({ MAIL_TRANSPORT: 'capture', LOG_PRETTY: 'true', ...process.env });
  const logger = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY ?? true, name: 'mailroom-dev' });
  const { config: mailroomConfig } = await loadConfigFile(options.config);

  let embedded: EmbeddedPostgres | undefined;
  let server: Server | undefined;
  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    const dataDir = resolve(options.dataDir);
    const port = await portOrFree(DEFAULT_EMBEDDED_PORT);
    logger.info({ dataDir, port }, 'starting embedded PostgreSQL');
    embedded = await startEmbeddedPostgres({ dataDir, port, database: 'mailroom' });
    databaseUrl = embedded.url;
  }

  try {
    const { applied } = await migrate({ databaseUrl, config: mailroomConfig });
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    const metrics = createMetrics();
    const running = await launchWorker(mailroomConfig, config, databaseUrl, logger, metrics);
    registerDatabaseGauges(metrics.registry, running.db);
    const admin = devAdminToken(config.ADMIN_TOKEN);
    server = buildServer({
      config: mailroomConfig,
      db: running.db,
      databaseUrl,
      adminToken: admin.token,
      frontendBaseUrl: config.FRONTEND_BASE_URL,
      logger,
      metrics,
      mailjetWebhookSecret: config.MAILJET_WEBHOOK_SECRET,
      stalledLoops: () => running.worker.stalledLoops(),
    });
    // The default port may be taken by another project's dev server: take any
    // free one then, unless PORT was asked for explicitly.
    const port = process.env.PORT ? config.PORT : await portOrFree(config.PORT);
    const address = await server.listen({ port, host: config.HOST, listenTextResolver: () => '' });
    const httpServer = server;
    onShutdownSignal(async () => {
      logger.info('stopping');
      await httpServer.close();
      await running.stop();
      await embedded?.stop();
      logger.info('stopped');
    });
    printWelcome(
      databaseUrl,
      config.MAIL_TRANSPORT[0] === 'capture' ? resolve(config.CAPTURE_DIR) : `the ${config.MAIL_TRANSPORT.join(', ')} transport`,
      address,
      admin.generated ? admin.token : null,
    );
  } catch (error) {
    await server?.close().catch(() => {});
    await embedded?.stop();
    throw error;
  }
}

function printWelcome(databaseUrl: string, mailGoesTo: string, httpAddress: string, generatedAdminToken: string | null): void {
  const shownUrl = databaseUrl.replace(/:[^:@/]*@/, ':***@');
  const psqlUrl = databaseUrl.includes('postgres:mailroom@') ? databaseUrl : shownUrl;
  process.stdout.write(`
mailroom dev is running.
  database   ${shownUrl}
  mail lands ${mailGoesTo}
  http       ${httpAddress}  (/healthz, /readyz, /metrics, and the reference app: POST /auth/signup, see docs/app.md)
  admin      ${httpAddress}/admin  (${generatedAdminToken ? `sign in with ${generatedAdminToken}, made for this run; set ADMIN_TOKEN to keep one` : 'sign in with your ADMIN_TOKEN'})

Enqueue an email from any SQL client:
  psql '${psqlUrl}' -c "select mailroom.enqueue('verify-email', 'ada@example.com', '{\\"name\\": \\"Ada\\", \\"token\\": \\"try-me-0123456789abcdef\\"}')"

Then: npx mailroom status | list | show <id>   (with DATABASE_URL='${psqlUrl}')
Stop with Ctrl-C.

`);
}
