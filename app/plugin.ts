// The reference app as one Fastify plugin. mailroom.config.ts hands it to
// `mailroom serve` and `mailroom dev` as the config's routes. It uses mailroom only
// through the package's public entry point (createMailroom, ValidationError).
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { mailroomOutbox, type AppContext, type Outbox } from './context.ts';
import { appDb } from './db.ts';
import { handleError } from './errors.ts';
import { authRoutes, type AuthRateLimit } from './routes/auth.ts';
import { childRoutes } from './routes/children.ts';
import { circleRoutes } from './routes/circles.ts';
import { DEFAULT_INVITATION_LIMITS, type InvitationLimits } from './invitation-limits.ts';
import { DEFAULT_PASSWORD_COST } from './secrets.ts';
import { startSchedules, type RunningSchedules } from './schedules.ts';

export interface AppOptions {
  /** The process's pool; the app borrows it and never closes it. */
  pool: pg.Pool;
  /** Per client address and auth route (in memory, per process). Default 20 a minute. */
  authRateLimit?: AuthRateLimit;
  /** Run the reminder and digest schedules in this process (pg-boss, cron in this zone). */
  schedules?: { databaseUrl: string; timeZone: string };
  /** log2 of scrypt's N for new password hashes (default 15, about 90 ms here; the bench also measures 10). */
  passwordCost?: number;
  /** Invitations per inviter and per circle in any 24 hours; default 20 and 50. */
  invitationLimits?: InvitationLimits;
  /** Where emails go; default the product's mailroom (app/mail.ts). */
  outbox?: Outbox;
}

export async function appPlugin(app: FastifyInstance, options: AppOptions): Promise<void> {
  const context: AppContext = { db: appDb(options.pool), outbox: options.outbox ?? mailroomOutbox };
  app.setErrorHandler(handleError);
  await app.register(authRoutes, { ...context, rateLimit: options.authRateLimit ?? { max: 20, timeWindowMs: 60_000 },
    passwordCost: options.passwordCost ?? DEFAULT_PASSWORD_COST,
  });
  await app.register(circleRoutes, { ...context, invitationLimits: options.invitationLimits ?? DEFAULT_INVITATION_LIMITS });
  await app.register(childRoutes, context);

  const { schedules } = options;
  if (schedules) {
    // In the background, retried: like /healthz, the server must come up while
    // PostgreSQL is still down; the schedules join when it answers.
    let running: RunningSchedules | undefined;
    let closing = false;
    let retry: NodeJS.Timeout | undefined;
    let starting: Promise<void> = Promise.resolve();
    const start = () => {
      starting = startSchedules(schedules.databaseUrl, { ...context, timeZone: schedules.timeZone }, (error) =>
        app.log.error({ err: error }, 'app schedules'),
      ).then(
        (started) => {
          running = started; // onClose, if under way, waits for this and stops it
        },
        (error: unknown) => {
          app.log.warn({ err: error }, 'app schedules could not start; retrying in 10 s');
          if (!closing) retry = setTimeout(start, 10_000);
        },
      );
    };
    app.addHook('onReady', async () => start());
    app.addHook('onClose', async () => {
      closing = true;
      clearTimeout(retry);
      await starting;
      await running?.stop();
    });
  }
}
