// mailroom/admin: the operator's side from code. The admin pages as a Fastify plugin
// an app mounts where it likes (behind its own auth too, if it wants), the whole
// HTTP server of `mailroom serve`, and the metrics registry it scrapes.
import type { FastifyPluginAsync } from 'fastify';
import type { MailroomConfig } from '../define-config.ts';
import type { Db } from '../db/connect.ts';
import { catalogueOf } from '../templates/catalogue.ts';
import { adminPages } from './http/plugin.tsx';

export interface AdminPluginOptions {
  /** The app's config: previews render its templates, with their sensitive props masked. */
  config: MailroomConfig<any>;
  /** From connect(databaseUrl); borrowed, never closed by the plugin. */
  db: Db;
  /** The sign-in token (24 characters or more). Without it every page answers 404. */
  token: string | undefined;
  /** Where preview links point (default: the templates' own default, as rendering without a baseUrl). */
  frontendBaseUrl?: string;
  /**
   * Sign-in attempts per client address (request.ip) a minute, in memory (default 10).
   * Behind a proxy, give your Fastify instance a `trustProxy` naming it, or every
   * client shares one allowance.
   */
  loginRateLimit?: number;
}

/** The admin pages: register with a prefix, e.g. `app.register(adminPlugin, { prefix: '/admin', config, db, token })`. */
export const adminPlugin: FastifyPluginAsync<AdminPluginOptions> = async (app, options) => {
  // The same rule as ADMIN_TOKEN in the CLI: a short token is guessable.
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length < 24 || /\s/.test(options.token))) {
    throw new RangeError('adminPlugin: token must be at least 24 characters without spaces (e.g. `openssl rand -base64 32`)');
  }
  await adminPages(app, {
    db: options.db,
    catalogue: catalogueOf(options.config),
    token: options.token,
    frontendBaseUrl: options.frontendBaseUrl,
    ...(options.loginRateLimit !== undefined ? { loginRateLimit: options.loginRateLimit } : {}),
  });
};

export { buildServer, type Server, type ServerOptions } from '../http/server.ts';
export { connect, type Db } from '../db/connect.ts';
export { createMetrics, type Metrics } from '../metrics/metrics.ts';
export { registerDatabaseGauges } from '../metrics/database-gauges.ts';
