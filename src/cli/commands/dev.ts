// `mailroom dev` (what `npm start` runs): the whole system in one process, on an
// embedded PostgreSQL under .data/postgres unless DATABASE_URL names one, sending
// through the capture transport into .data/mail.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { databaseOptionsFromEnv, loadConfig } from '../env.ts';
import { httpOptionsFromEnv } from '../http-from-env.ts';
import { connect, waitForDatabase } from '../../db/connect.ts';
import { clearLeftoverPostgres, portOrFree, startEmbeddedPostgres, type EmbeddedPostgres } from '../../db/embedded-postgres.ts';
import { buildServer, type Server } from '../../http/server.ts';
import { createLogger } from '../../logger.ts';
import { registerDatabaseGauges } from '../../metrics/database-gauges.ts';
import { createMetrics } from '../../metrics/metrics.ts';
import { devAdminToken } from '../../admin/http/session.ts';
import { migrate } from '../../migrate.ts';
import { loadConfigFile } from '../load-config.ts';
import { closeHttpServer, onShutdownSignal, settlesWithin, shutdownDeadlineMs } from '../process.ts';
import { launchWorker, type RunningWorker } from './worker.ts';

const DEFAULT_EMBEDDED_PORT = 54329;

export async function devCommand(options: { dataDir: string; config?: string }): Promise<void> {
  // Development defaults: captured mail and readable logs, unless the environment says otherwise.
  const config = loadConfig({ MAIL_TRANSPORT: 'capture', LOG_PRETTY: 'true', ...process.env });
  const logger = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY ?? true, name: 'mailroom-dev' });
  const { config: mailroomConfig } = await loadConfigFile(options.config);

  let embedded: EmbeddedPostgres | undefined;
  let server: Server | undefined;
  let running: RunningWorker | undefined;
  // Listening from the start: a SIGTERM while dev still waits for PostgreSQL ends the
  // wait; whatever was started is stopped, within SHUTDOWN_GRACE_MS + 5 s.
  const shutdown = new AbortController();
  let starting: Promise<unknown> = Promise.resolve();
  onShutdownSignal(
    async () => {
      logger.info('stopping');
      shutdown.abort();
      await starting.catch(() => {});
      await Promise.all([server ? closeHttpServer(server, config.SHUTDOWN_GRACE_MS, logger) : undefined, running?.stop()]);
      await embedded?.stop();
      logger.info('stopped');
    },
    { deadlineMs: shutdownDeadlineMs(config) },
  );
  const database = databaseOptionsFromEnv(config);

  const start = async () => {
    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      const dataDir = resolve(options.dataDir);
      // A server an earlier run left behind (killed with SIGKILL) goes first, so it
      // frees the default port too; a foreign one stops the start with one line.
      await clearLeftoverPostgres(dataDir, { onNotice: (line) => logger.info(line) });
      const port = await portOrFree(DEFAULT_EMBEDDED_PORT);
      logger.info({ dataDir, port }, 'starting embedded PostgreSQL');
      embedded = await startEmbeddedPostgres({ dataDir, port, database: 'mailroom' });
      databaseUrl = embedded.url;
    } else {
      // A DATABASE_URL of your own may not answer yet: say so, and wait.
      const probe = connect(databaseUrl, { max: 1, applicationName: 'mailroom-dev', ...database });
      try {
        await waitForDatabase(probe, { logger, deadlineMs: config.STARTUP_DEADLINE_MS, signal: shutdown.signal });
      } finally {
        // A connection attempt still in flight (a SIGTERM during the wait) is not waited for.
        await settlesWithin(probe.close(), 1_000);
      }
    }
    const { applied } = await migrate({ databaseUrl, config: mailroomConfig, database });
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    const metrics = createMetrics();
    // The default port may be taken by another project's dev server: take any
    // free one then, unless PORT was asked for explicitly.
    const port = process.env.PORT ? config.PORT : await portOrFree(config.PORT);
    // Non-essential emails carry unsubscribe links: unless they are configured, dev
    // points them at its own server, sealed with a secret of this run.
    const effective = config.UNSUBSCRIBE_SECRET
      ? config
      : { ...config, UNSUBSCRIBE_BASE_URL: `http://localhost:${port}`, UNSUBSCRIBE_SECRET: randomBytes(32).toString('base64url') };
    running = await launchWorker(mailroomConfig, effective, databaseUrl, logger, metrics, shutdown.signal);
    const worker = running;
    registerDatabaseGauges(metrics.registry, worker.db);
    const admin = devAdminToken(config.ADMIN_TOKEN);
    server = buildServer({
      ...httpOptionsFromEnv(config),
      config: mailroomConfig,
      db: worker.db,
      databaseUrl,
      adminToken: admin.token,
      frontendBaseUrl: config.FRONTEND_BASE_URL,
      logger,
      metrics,
      mailjetWebhookSecret: config.MAILJET_WEBHOOK_SECRET,
      stalledLoops: () => worker.worker.stalledLoops(),
      unsubscribeSecret: effective.UNSUBSCRIBE_SECRET,
    });
    const address = await server.listen({ port, host: config.HOST, listenTextResolver: () => '' });
    return { databaseUrl, address, generatedAdminToken: admin.generated ? admin.token : null };
  };

  try {
    const launched = start();
    starting = launched;
    const { databaseUrl, address, generatedAdminToken } = await launched;
    if (shutdown.signal.aborted) return;
    printWelcome(
      databaseUrl,
      config.MAIL_TRANSPORT[0] === 'capture' ? resolve(config.CAPTURE_DIR) : `the ${config.MAIL_TRANSPORT.join(', ')} transport`,
      address,
      generatedAdminToken,
    );
  } catch (error) {
    if (shutdown.signal.aborted) return; // the shutdown handler stops what was started, and exits
    await server?.close().catch(() => {});
    await running?.stop().catch(() => {});
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
