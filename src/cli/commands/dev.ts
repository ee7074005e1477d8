// `mailroom dev` (what `npm start` runs): the whole system in one process, on an
// embedded PostgreSQL under .data/postgres unless DATABASE_URL names one, sending
// through the capture transport into .data/mail.
import { resolve } from 'node:path';
import { loadConfig } from '../../config.ts';
import { freePort, isPortFree, startEmbeddedPostgres, type EmbeddedPostgres } from '../../db/embedded-postgres.ts';
import { createLogger } from '../../logger.ts';
import { appServerOptions, migrateApp } from '../../app/index.ts';
import { buildServer } from '../../http/server.ts';
import { migrate } from '../../migrate.ts';
import { onShutdownSignal } from '../process.ts';
import { launchWorker } from './worker.ts';

const DEFAULT_EMBEDDED_PORT = 54329;

export async function devCommand(options: { dataDir: string }): Promise<void> {
  // Development defaults: captured mail and readable logs, unless the environment says otherwise.
  const config = loadConfig({ MAIL_TRANSPORT: 'capture', LOG_PRETTY: 'true', ...process.env });
  const logger = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY ?? true, name: 'mailroom-dev' });

  let embedded: EmbeddedPostgres | undefined;
  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    const dataDir = resolve(options.dataDir);
    const port = (await isPortFree(DEFAULT_EMBEDDED_PORT)) ? DEFAULT_EMBEDDED_PORT : await freePort();
    logger.info({ dataDir, port }, 'starting embedded PostgreSQL');
    embedded = await startEmbeddedPostgres({ dataDir, port, database: 'mailroom' });
    databaseUrl = embedded.url;
  }

  try {
    const { applied } = await migrate(databaseUrl);
    applied.push(...(await migrateApp(databaseUrl)));
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    const running = await launchWorker(config, databaseUrl, logger);
    const server = buildServer({ db: running.db, logger, app: appServerOptions(config, databaseUrl) });
    const keepPort = Boolean(process.env.PORT) || (await isPortFree(config.PORT)); // else any free port
    await server.listen({ port: keepPort ? config.PORT : await freePort(), host: config.HOST });
    onShutdownSignal(async () => {
      logger.info('stopping');
      await server.close();
      await running.stop();
      await embedded?.stop();
      logger.info('stopped');
    });
    printWelcome(
      databaseUrl,
      config.MAIL_TRANSPORT[0] === 'capture' ? resolve(config.CAPTURE_DIR) : `the ${config.MAIL_TRANSPORT.join(', ')} transport`,
    );
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
}

function printWelcome(databaseUrl: string, mailGoesTo: string): void {
  const shownUrl = databaseUrl.replace(/:[^:@/]*@/, ':***@');
  const psqlUrl = databaseUrl.includes('postgres:mailroom@') ? databaseUrl : shownUrl;
  process.stdout.write(`
mailroom dev is running.
  database   ${shownUrl}
  mail lands ${mailGoesTo}

Enqueue an email from any SQL client:
  psql '${psqlUrl}' -c "select mailroom.enqueue('verify-email', 'ada@example.com', '{\\"name\\": \\"Ada\\", \\"token\\": \\"try-me-0123456789abcdef\\"}')"

Then: npx mailroom status | list | show <id>   (with DATABASE_URL='${psqlUrl}')
Stop with Ctrl-C.

`);
}
