// Emails nobody asked for at the moment: a reminder for invitations still open
// after 3 days, reminders to guardians who have not consented, a weekly digest.
// pg-boss schedules fire them (cron with a time zone). Each run is idempotent for
// its period: firing twice, or on two servers, writes nothing twice.
import { PgBoss } from 'pg-boss';
import type { Outbox } from './context.ts';
import type { AppDb } from './db.ts';
import { claimOnce, issueToken } from './tokens.ts';

const DAY = 24 * 3_600_000;
export const INVITATION_REMINDER_AFTER_MS = 3 * DAY;
export const CONSENT_REMINDER_AFTER_MS = DAY;
const BATCH = 500;

export interface ScheduleContext {
  db: AppDb;
  outbox: Outbox;
  /** The schedules' time zone: it decides which day or week a run belongs to. */
  timeZone: string;
}

/** YYYY-MM-DD of `at` in the zone. */
export function localDate(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

/** ISO 8601 week of a YYYY-MM-DD date, e.g. 2026-W48. */
export function isoWeek(date: string): string {
  const thursday = new Date(`${date}T00:00:00Z`);
  thursday.setUTCDate(thursday.getUTCDate() - ((thursday.getUTCDay() + 6) % 7) + 3); // its week's Thursday decides the year
  const year = thursday.getUTCFullYear();
  const dayOfYear = Math.round((thursday.getTime() - Date.UTC(year, 0, 1)) / DAY) + 1;
  return `${year}-W${String(Math.ceil(dayOfYear / 7)).padStart(2, '0')}`;
}

/** Once per invitation: still pending 3 days after it was sent. Returns how many emails it wrote. */
export async function remindPendingInvitations({ db, outbox }: ScheduleContext, now = new Date()): Promise<number> {
  const due = await db
    .selectFrom('app.invitation')
    .select('id')
    .where('status', '=', 'pending')
    .where('reminded_at', 'is', null)
    .where('created_at', '<=', new Date(now.getTime() - INVITATION_REMINDER_AFTER_MS))
    .where('expires_at', '>', now)
    .limit(BATCH)
    .execute();
  let written = 0;
  for (const { id } of due) {
    written += await db.transaction().execute(async (trx) => {
      // The claim: only one run (of any server) gets the row.
      const invitation = await trx
        .updateTable('app.invitation as i')
        .set({ reminded_at: now })
        .from(['app.circle as c', 'app.user_account as u'])
        .whereRef('c.id', '=', 'i.circle_id')
        .whereRef('u.id', '=', 'i.invited_by')
        .where('i.id', '=', id)
        .where('i.reminded_at', 'is', null)
        .where('i.status', '=', 'pending')
        .returning(['i.id', 'i.email', 'i.expires_at', 'i.created_at', 'c.name as circleName', 'u.name as inviterName'])
        .executeTakeFirst();
      if (!invitation) return 0;
      // The first token is only stored hashed, so the reminder carries a new one for the same invitation.
      const token = await issueToken(trx, 'invitation', { invitationId: invitation.id }, invitation.expires_at);
      await outbox.enqueue(trx, {
        template: 'invitation-reminder',
        to: invitation.email,
        props: {
          token: token.value,
          inviterName: invitation.inviterName,
          circleName: invitation.circleName,
          invitedAt: invitation.created_at.toISOString(),
          expiresAt: token.expiresAt.toISOString(),
        },
        idempotencyKey: `invitation-reminder:${invitation.id}`,
        notAfter: token.expiresAt,
      });
      return 1;
    });
  }
  return written;
}

/** Once a day per pending child upgrade, from a day after the request until it lapses. */
export async function remindGuardians({ db, outbox, timeZone }: ScheduleContext, now = new Date()): Promise<number> {
  const day = localDate(now, timeZone);
  const due = await db
    .selectFrom('app.child_profile as ch')
    .innerJoin('app.user_account as g', 'g.id', 'ch.guardian_id')
    .select(['ch.id', 'ch.name', 'ch.upgrade_expires_at', 'g.email', 'g.name as guardianName'])
    .where('ch.upgrade_requested_at', '<=', new Date(now.getTime() - CONSENT_REMINDER_AFTER_MS))
    .where('ch.consent_at', 'is', null)
    .where('ch.upgrade_expires_at', '>', now)
    .limit(BATCH)
    .execute();
  let written = 0;
  for (const child of due) {
    const key = `guardian-consent-reminder:${child.id}:${day}`;
    written += await db.transaction().execute(async (trx) => {
      if (!(await claimOnce(trx, key))) return 0;
      const lapses = child.upgrade_expires_at!;
      const token = await issueToken(trx, 'guardian-consent', { childId: child.id }, new Date(Math.min(lapses.getTime(), now.getTime() + 3 * DAY)));
      await outbox.enqueue(trx, {
        template: 'guardian-consent-reminder',
        to: child.email,
        props: { token: token.value, guardianName: child.guardianName, childName: child.name, expiresAt: token.expiresAt.toISOString() },
        idempotencyKey: key,
        notAfter: token.expiresAt,
      });
      return 1;
    });
  }
  return written;
}

const KIND_WORDS = { photo: ['photo', 'photos'], video: ['video', 'videos'], mixed: ['item', 'items'] } as const;

/**
 * Returns how many digests were due (a repeat run finds them written already).
 * One digest per user with activity in the 7 days before `now`: media added to their
 * circles by others. Keyed by the ISO week the period ends in (in the schedules' zone).
 */
export async function sendWeeklyDigests({ db, outbox, timeZone }: ScheduleContext, now = new Date()): Promise<number> {
  const periodEnd = now;
  const periodStart = new Date(now.getTime() - 7 * DAY);
  const week = isoWeek(localDate(new Date(now.getTime() - DAY), timeZone));
  const rows = await db
    .selectFrom('app.membership as m')
    .innerJoin('app.media_item as mi', (join) => join.onRef('mi.circle_id', '=', 'm.circle_id').onRef('mi.uploaded_by', '<>', 'm.user_id'))
    .innerJoin('app.circle as c', 'c.id', 'm.circle_id')
    .innerJoin('app.user_account as u', 'u.id', 'm.user_id')
    .innerJoin('app.user_account as up', 'up.id', 'mi.uploaded_by')
    .select(['u.id as userId', 'u.email', 'u.name', 'c.id as circleId', 'c.name as circleName', 'up.name as uploader', 'mi.kind', 'mi.count'])
    .where('mi.created_at', '>=', periodStart)
    .where('mi.created_at', '<', periodEnd)
    .where('u.verified_at', 'is not', null)
    .orderBy('u.id')
    .orderBy('c.name')
    .orderBy('mi.created_at')
    .execute();

  type Digest = { email: string; name: string; circles: Map<string, { id: string; name: string; items: string[] }> };
  const digests = new Map<string, Digest>();
  for (const row of rows) {
    const digest = digests.get(row.userId) ?? { email: row.email, name: row.name, circles: new Map() };
    digests.set(row.userId, digest);
    const circle = digest.circles.get(row.circleId) ?? { id: row.circleId, name: row.circleName, items: [] };
    digest.circles.set(row.circleId, circle);
    if (circle.items.length < 50) circle.items.push(`${row.uploader} added ${row.count} ${KIND_WORDS[row.kind][row.count === 1 ? 0 : 1]}`);
  }
  const emails = [...digests].map(([userId, digest]) => ({
    template: 'digest' as const,
    to: digest.email,
    props: {
      name: digest.name,
      periodStart: periodStart.toISOString(),
      periodEnd: periodEnd.toISOString(),
      circles: [...digest.circles.values()].slice(0, 50),
    },
    // No token in a digest: the outbox's idempotency key alone makes a second run write nothing.
    idempotencyKey: `digest:${userId}:${week}`,
  }));
  for (let i = 0; i < emails.length; i += BATCH) await outbox.enqueueMany(db, emails.slice(i, i + BATCH));
  return emails.length;
}

/**
 * Daily: forget send keys older than a week (their windows and days are long past),
 * used or expired tokens and dead sessions older than 30 days. Returns rows deleted.
 */
export async function housekeeping({ db }: ScheduleContext, now = new Date()): Promise<number> {
  const weekAgo = new Date(now.getTime() - 7 * DAY);
  const monthAgo = new Date(now.getTime() - 30 * DAY);
  const keys = await db.deleteFrom('app.send_once').where('created_at', '<', weekAgo).executeTakeFirst();
  const tokens = await db
    .deleteFrom('app.email_token')
    .where((eb) => eb.or([eb('used_at', '<', monthAgo), eb('expires_at', '<', monthAgo)]))
    .executeTakeFirst();
  const sessions = await db
    .deleteFrom('app.session')
    .where((eb) => eb.or([eb('revoked_at', '<', monthAgo), eb('expires_at', '<', monthAgo)]))
    .executeTakeFirst();
  return [keys, tokens, sessions].reduce((n, result) => n + Number(result.numDeletedRows), 0);
}

export interface ScheduledJob {
  name: string;
  /** Cron, evaluated in ScheduleContext.timeZone. */
  cron: string;
  run: (context: ScheduleContext, now?: Date) => Promise<number>;
}

export const scheduledJobs: readonly ScheduledJob[] = [
  { name: 'app.invitation-reminders', cron: '0 9 * * *', run: remindPendingInvitations },
  { name: 'app.guardian-consent-reminders', cron: '30 9 * * *', run: remindGuardians },
  { name: 'app.weekly-digest', cron: '0 8 * * 1', run: sendWeeklyDigests },
  { name: 'app.housekeeping', cron: '15 3 * * *', run: housekeeping },
];

export interface RunningSchedules {
  boss: PgBoss;
  stop(): Promise<void>;
}

/** Register the schedules with pg-boss and work their jobs in this process. */
export async function startSchedules(databaseUrl: string, context: ScheduleContext, onError: (error: Error) => void): Promise<RunningSchedules> {
  const boss = new PgBoss({ connectionString: databaseUrl, application_name: 'mailroom-app-schedules', max: 2, schedule: true, supervise: true });
  boss.on('error', onError);
  await boss.start();
  for (const job of scheduledJobs) {
    if (!(await boss.getQueue(job.name))) await boss.createQueue(job.name, { retryLimit: 2, retryDelay: 60 });
    await boss.schedule(job.name, job.cron, null, { tz: context.timeZone });
    await boss.work(job.name, { pollingIntervalSeconds: 5 }, async () => {
      await job.run(context);
    });
  }
  return { boss, stop: () => boss.stop({ graceful: true, timeout: 5000, close: true }) };
}
