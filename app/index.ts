// The reference app's entry points for mailroom.config.ts: its routes (served by
// `mailroom serve` and `mailroom dev`) and its settings, read from the environment
// here, by the app, as any app reads its own.
import type { FastifyInstance } from 'fastify';
import type { RoutesContext } from 'mailroom';
import { appPlugin } from './plugin.ts';
import { loadAppSettings } from './settings.ts';

export { appPlugin, type AppOptions } from './plugin.ts';
export { migrateApp } from './migrate.ts';

/** The app on a mailroom server: its routes, and its schedules in this process. */
export async function appRoutes(server: FastifyInstance, { pool, databaseUrl }: RoutesContext): Promise<void> {
  const settings = loadAppSettings(process.env);
  await server.register(appPlugin, {
    pool,
    authRateLimit: { max: settings.APP_AUTH_RATE_LIMIT, timeWindowMs: 60_000 },
    invitationLimits: {
      perInviterPerDay: settings.APP_INVITATIONS_PER_INVITER_PER_DAY,
      perCirclePerDay: settings.APP_INVITATIONS_PER_CIRCLE_PER_DAY,
    },
    ...(databaseUrl ? { schedules: { databaseUrl, timeZone: settings.APP_TIME_ZONE } } : {}),
  });
}
