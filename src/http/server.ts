// The HTTP side of mailroom: one Fastify instance, each concern a plugin. `mailroom
// serve` and `mailroom dev` mount everything; a worker with WORKER_PORT set mounts
// only the probes and /metrics.
import Fastify, {
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { Db } from '../db/connect.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { healthRoutes } from './health.ts';
import { metricsRoute } from './metrics.ts';
import { webhookRoutes } from './webhooks.ts';
import { adminPages } from '../admin/http/plugin.tsx';
import type { MailroomConfig } from '../define-config.ts';
import { Catalogue, catalogueOf } from '../templates/catalogue.ts';

export interface ServerOptions {
  /** The app's config: its templates (admin previews) and, unless `appRoutes` is false, its extra routes. Default: none. */
  config?: MailroomConfig<any>;
  /** The process's database handle; the server borrows it and never closes it. */
  db: Db;
  /** Where `db` points, handed to the config's routes (for their own connections, e.g. schedules). */
  databaseUrl?: string;
  /** Mount the config's `routes` (default true; a worker's probe server says false). */
  appRoutes?: boolean;
  logger: Logger;
  /** ADMIN_TOKEN: enables the admin pages under /admin (otherwise they answer 404). */
  adminToken?: string | undefined;
  /** FRONTEND_BASE_URL, for links in the admin pages' email previews. */
  frontendBaseUrl?: string | undefined;
  /** How long /readyz waits for the database before it answers 503 (default 2 s). */
  readyTimeoutMs?: number;
  /** MAILJET_WEBHOOK_SECRET: enables POST /webhooks/mailjet. */
  mailjetWebhookSecret?: string | undefined;
  /** Serves GET /metrics from this registry. */
  metrics?: Metrics;
  /** In a process that runs the worker: /readyz also checks its loops. */
  stalledLoops?: () => string[];
}

/** The Fastify instance, typed with mailroom's pino logger. */
export type Server = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, Logger>;

/** A server with every route registered; call `listen()` (or `inject()` in tests). */
export function buildServer({
  config, db, databaseUrl, appRoutes = true, logger, readyTimeoutMs, mailjetWebhookSecret, metrics, stalledLoops, adminToken, frontendBaseUrl,
}: ServerOptions): Server {
  const app = Fastify({ loggerInstance: logger });
  app.register(healthRoutes, {
    db,
    ...(readyTimeoutMs !== undefined ? { readyTimeoutMs } : {}),
    ...(stalledLoops ? { stalledLoops } : {}),
  });
  if (metrics) app.register(metricsRoute, { metrics });
  app.register(webhookRoutes, { db, mailjetSecret: mailjetWebhookSecret });
  app.register(adminPages, { prefix: '/admin', db, catalogue: config ? catalogueOf(config) : new Catalogue({}), token: adminToken, frontendBaseUrl });
  // The app's own API (this repository's reference app, say) comes only from its config.
  const routes = config?.routes;
  if (appRoutes && routes) {
    app.register(async (scope) => routes(scope, { pool: db.pool, databaseUrl: databaseUrl ?? '', logger }));
  }
  return app;
}
