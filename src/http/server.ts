// The HTTP side of mailroom: one Fastify instance, each concern a plugin. `mailroom
// serve` and `mailroom dev` mount everything; a worker with WORKER_PORT set mounts
// only the probes and /metrics. The server-wide rules live here: which proxy is
// believed (trustProxy), how long a request may take to arrive, HSTS over HTTPS.
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
import { unsubscribeRoutes } from '../unsubscribe/http.ts';
import { adminPages, HSTS } from '../admin/http/plugin.tsx';
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
  /**
   * TRUST_PROXY: which proxies in front are believed about the client's address and
   * protocol (X-Forwarded-For, X-Forwarded-Proto): a hop count, or addresses and CIDR
   * ranges. Default: none, the socket's peer is the client. Never `true`: any client
   * could then claim any address.
   */
  trustProxy?: number | string[] | undefined;
  /** HTTP_REQUEST_TIMEOUT_MS: the longest a request may take to arrive whole, headers and body (default 30 s); a slower client gets 408 and is cut off. */
  requestTimeoutMs?: number;
  /** ADMIN_LOGIN_RATE_LIMIT: admin sign-in attempts (POST /admin/login) per client address a minute (default 10). */
  adminLoginRateLimit?: number;
  /** UNSUBSCRIBE_SECRET, the worker's: serves the one-click unsubscribe links under /unsubscribe. */
  unsubscribeSecret?: string | undefined;
}

/**
 * Fastify's trustProxy from ours. A list of addresses and CIDR ranges goes as it is
 * (proxy-addr). A hop count becomes a function trusting that many hops nearest the
 * server, as in Express: Fastify 5.12 reads a bare number as "trust nothing", because
 * a hop count cannot tell the proxy from a client that reaches the port directly.
 * That is the operator's side of the bargain (docs/operations.md, "Behind a proxy").
 */
function proxyTrust(trustProxy: number | string[]): string[] | ((address: string, hop: number) => boolean) {
  if (typeof trustProxy !== 'number') return trustProxy;
  if (!Number.isInteger(trustProxy) || trustProxy < 0) throw new RangeError('buildServer: trustProxy as a hop count must be a whole number');
  return (_address, hop) => hop < trustProxy;
}

/** The Fastify instance, typed with mailroom's pino logger. */
export type Server = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, Logger>;

/** A server with every route registered; call `listen()` (or `inject()` in tests). */
export function buildServer({
  config, db, databaseUrl, appRoutes = true, logger, readyTimeoutMs, mailjetWebhookSecret, metrics, stalledLoops, adminToken, frontendBaseUrl,
  trustProxy, requestTimeoutMs = 30_000, adminLoginRateLimit, unsubscribeSecret,
}: ServerOptions): Server {
  if ((trustProxy as unknown) === true) throw new RangeError('buildServer: trustProxy must be a hop count or a list of addresses, never true (any client could claim any address)');
  if (!Number.isInteger(requestTimeoutMs) || requestTimeoutMs < 1) throw new RangeError('buildServer: requestTimeoutMs must be a positive integer');
  const app = Fastify({
    loggerInstance: logger,
    ...(trustProxy !== undefined ? { trustProxy: proxyTrust(trustProxy) } : {}),
    // Node measures a request from its first byte to its last and answers 408 past
    // requestTimeout; Fastify's own default is 0 (never), so a client trickling a body
    // held its socket for ever. Node checks its connections every
    // connectionsCheckingInterval (30 s by default): check often enough that the cut
    // comes close to the timeout. Headers alone get the same budget.
    requestTimeout: requestTimeoutMs,
    // An unsubscribe token seals its address: up to about 400 characters for the longest address.
    routerOptions: { maxParamLength: 1024 },
    http: {
      requestTimeout: requestTimeoutMs,
      headersTimeout: requestTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(requestTimeoutMs / 4))),
    },
  });
  // HSTS on HTTPS: request.protocol believes X-Forwarded-Proto only from a trusted proxy.
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.protocol === 'https' && !reply.hasHeader('strict-transport-security')) reply.header('strict-transport-security', HSTS);
    return payload;
  });
  app.register(healthRoutes, {
    db,
    ...(readyTimeoutMs !== undefined ? { readyTimeoutMs } : {}),
    ...(stalledLoops ? { stalledLoops } : {}),
  });
  if (metrics) app.register(metricsRoute, { metrics });
  const catalogue = config ? catalogueOf(config) : new Catalogue({});
  app.register(webhookRoutes, { db, mailjetSecret: mailjetWebhookSecret, categories: catalogue.unsubscribeCategories });
  if (unsubscribeSecret) app.register(unsubscribeRoutes, { pool: db.pool, secret: unsubscribeSecret });
  app.register(adminPages, {
    prefix: '/admin',
    db,
    catalogue,
    token: adminToken,
    frontendBaseUrl,
    ...(adminLoginRateLimit !== undefined ? { loginRateLimit: adminLoginRateLimit } : {}),
  });
  // The app's own API (this repository's reference app, say) comes only from its config.
  const routes = config?.routes;
  if (appRoutes && routes) {
    app.register(async (scope) => routes(scope, { pool: db.pool, databaseUrl: databaseUrl ?? '', logger }));
  }
  return app;
}
