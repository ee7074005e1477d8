// The reference app's entry points for the CLI and the HTTP server.
import type { Config } from '../config.ts';
import type { AppOptions } from './plugin.ts';

export { appPlugin, type AppOptions } from './plugin.ts';
export { migrateApp } from './migrate.ts';

/** The app's settings from the environment, for `mailroom serve` and `mailroom dev`. */
export function appServerOptions(config: Config, databaseUrl: string): Omit<AppOptions, 'pool'> {
  return {
    authRateLimit: { max: config.APP_AUTH_RATE_LIMIT, timeWindowMs: 60_000 },
    schedules: { databaseUrl, timeZone: config.APP_TIME_ZONE },
  };
}
