// The reference app's own settings (listed in .env.example with mailroom's), read
// and checked when its routes are mounted. A bad value stops start-up with a
// message naming the variable, as mailroom's own variables do.
import { ValidationError } from 'mailroom';
import { z } from 'zod';

const isTimeZone = (zone: string) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};

export const appSettingsSchema = z.object({
  // The schedules' time zone (reminders, digests).
  APP_TIME_ZONE: z.string().refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Paris').default('UTC'),
  // Auth requests per client address and route a minute.
  APP_AUTH_RATE_LIMIT: z.coerce.number().int().min(1).max(100_000).default(20),
  // Invitations one user may send in any 24 hours (over all their circles), and one
  // circle (all its admins together): each is an email to a stranger.
  APP_INVITATIONS_PER_INVITER_PER_DAY: z.coerce.number().int().min(1).max(100_000).default(20),
  APP_INVITATIONS_PER_CIRCLE_PER_DAY: z.coerce.number().int().min(1).max(100_000).default(50),
});

export type AppSettings = z.output<typeof appSettingsSchema>;

export function loadAppSettings(env: Record<string, string | undefined>): AppSettings {
  const present = Object.fromEntries(Object.entries(env).filter(([key, v]) => key.startsWith('APP_') && v !== undefined && v !== ''));
  const parsed = appSettingsSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0]);
    throw new ValidationError(variable, `${issue.message} (got "${present[variable]}")`);
  }
  return parsed.data;
}
