// The HTTP side of mailroom (`mailroom serve`): one Fastify instance, each concern a
// plugin. Today the health probes and provider webhooks; the admin pages and /metrics join as plugins.
import Fastify, {
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { Db } from '../db/connect.ts';
import type { Logger } from '../logger.ts';
import { healthRoutes } from './health.ts';
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
}

/** The Fastify instance, typed with mailroom's pino logger. */
export type Server = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, Logger>;

/** A server with every route registered; call `listen()` (or `inject()` in tests). */
export function buildServer({ db, logger, readyTimeoutMs, mailjetWebhookSecret, adminToken, frontendBaseUrl }: ServerOptions): Server {
  const app = Fastify({ loggerInstance: logger });
  app.register(healthRoutes, { db, ...(readyTimeoutMs !== undefined ? { readyTimeoutMs } : {}) });
  app.register(webhookRoutes, { db, mailjetSecret: mailjetWebhookSecret });

  app.register(adminPages, { prefix: '/admin', db, token: adminToken, frontendBaseUrl });
  return app;
}
