// Invitation caps. An invitation is an email to a stranger on a user's say-so, so a
// verified account could otherwise mail any number of addresses: at most so many
// invitations per inviter, and per circle (all its admins together), in any 24 hours.
// Counted from app.invitation itself (every invitation sent, whatever became of it),
// in the transaction that writes the next one.
import { sql } from 'kysely';
import type { AppDb } from './db.ts';
import { AppError } from './errors.ts';

export interface InvitationLimits {
  /** Invitations one user may send in any 24 hours, over all their circles. */
  perInviterPerDay: number;
  /** Invitations a circle may send in any 24 hours, whoever of its admins sends them. */
  perCirclePerDay: number;
}

export const DEFAULT_INVITATION_LIMITS: InvitationLimits = { perInviterPerDay: 20, perCirclePerDay: 50 };

/**
 * Throws a 429 (too_many_invitations, with Retry-After) when either cap is reached;
 * else returns and the caller may insert. Locks the inviter's and the circle's rows
 * first (always in that order, so two requests cannot deadlock), so concurrent
 * invitations are counted one after the other and the caps hold exactly. NO KEY
 * UPDATE: the foreign-key checks of memberships and invitations are not blocked.
 */
export async function checkInvitationLimits(trx: AppDb, inviterId: string, circleId: string, limits: InvitationLimits): Promise<void> {
  await trx.selectFrom('app.user_account').select('id').where('id', '=', inviterId).forNoKeyUpdate().execute();
  await trx.selectFrom('app.circle').select('id').where('id', '=', circleId).forNoKeyUpdate().execute();
  // Counted and timed by PostgreSQL's clock, the one that stamped created_at.
  const usage = (column: 'invited_by' | 'circle_id', id: string) =>
    trx
      .selectFrom('app.invitation')
      .select([
        sql<number>`count(*)::int`.as('sent'),
        sql<number | null>`ceil(extract(epoch from min(created_at) + interval '24 hours' - now()))::int`.as('freesInS'),
      ])
      .where(column, '=', id)
      .where('created_at', '>', sql<Date>`now() - interval '24 hours'`)
      .executeTakeFirstOrThrow();

  const inviter = await usage('invited_by', inviterId);
  if (inviter.sent >= limits.perInviterPerDay) {
    throw limitReached(`you have sent ${limits.perInviterPerDay} invitations in the last 24 hours, the most allowed`, inviter.freesInS);
  }
  const circle = await usage('circle_id', circleId);
  if (circle.sent >= limits.perCirclePerDay) {
    throw limitReached(`this circle has sent ${limits.perCirclePerDay} invitations in the last 24 hours, the most allowed`, circle.freesInS);
  }
}

/** The oldest invitation in the window frees a place when it leaves it: that is when to retry. */
function limitReached(message: string, freesInS: number | null): AppError {
  const retryAfterS = Math.max(1, freesInS ?? 86_400);
  return new AppError(429, 'too_many_invitations', `${message}; try again in ${retryAfterS} s`, null, { 'retry-after': String(retryAfterS) });
}
