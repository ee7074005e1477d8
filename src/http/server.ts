// The HTTP side of mailroom: one Fastify instance, each concern a plugin. `mailroom
// serve` and `mailroom dev` mount everything; a worker with WORKER_PORT set mounts
// only the probes and /metrics.
import Fastify, {
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import { appPlugin, type AppOptions } from '../app/index.ts';
import type { Db } from '../db/connect.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { healthRoutes } from './health.ts';
import { metricsRoute } from './metrics.ts';
import { webhookRoutes } from './webhooks.ts';
import { adminPages } from '../admin/http/plugin.tsx';

export interface ServerOptions {
  /** The process's database handle; the server borrows it and never closes it. */
  db: Db;
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
  /** Serves the reference app (src/app, docs/app.md) on the same pool. */
  app?: Omit<AppOptions, 'pool'>;
}

/** The Fastify instance, typed with mailroom's pino logger. */
export type Server = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, Logger>;

/** A server with every route registered; call `listen()` (or `inject()` in tests). */
export function buildServer({
  db, logger, readyTimeoutMs, mailjetWebhookSecret, metrics, stalledLoops, app: appOptions, adminToken, frontendBaseUrl,
}: ServerOptions): Server {
  const app = Fastify({ loggerInstance: logger });
  app.register(healthRoutes, {
    db,
    ...(readyTimeoutMs !== undefined ? { readyTimeoutMs } : {}),
    ...(stalledLoops ? { stalledLoops } : {}),
  });
  if (metrics) app.register(metricsRoute, { metrics });
  app.register(webhookRoutes, { db, mailjetSecret: mailjetWebhookSecret });
  app.register(adminPages, { prefix: '/admin', db, token: adminToken, frontendBaseUrl });
  if (appOptions) app.register(appPlugin, { ...appOptions, pool: db.pool });
  return app;
}
