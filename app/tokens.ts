// Email tokens: issued inside the transaction that enqueues their email, stored as
// a hash, single use, with an expiry that is also the email's not_after (a link is
// never delivered after it stops working).
import { sql } from 'kysely';
import type { AppDb, TokenPurpose } from './db.ts';
import { AppError } from './errors.ts';
import { hashSecret, newSecret } from './secrets.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** How long each kind of link works. */
export const TOKEN_LIFETIME_MS: Record<TokenPurpose, number> = {
  'verify-email': 2 * DAY,
  'password-reset': HOUR,
  invitation: 7 * DAY,
  'child-upgrade': 2 * DAY,
  'guardian-consent': 3 * DAY,
};

export interface IssuedToken {
  id: string;
  /** The secret itself: it goes into the email's props and nowhere else. */
  value: string;
  expiresAt: Date;
}

export interface TokenSubject {
  userId?: string;
  invitationId?: string;
  childId?: string;
}

export async function issueToken(
  trx: AppDb,
  purpose: TokenPurpose,
  subject: TokenSubject,
  expiresAt = new Date(Date.now() + TOKEN_LIFETIME_MS[purpose]),
): Promise<IssuedToken> {
  const value = newSecret();
  const { id } = await trx
    .insertInto('app.email_token')
    .values({
      token_hash: hashSecret(value),
      purpose,
      user_id: subject.userId ?? null,
      invitation_id: subject.invitationId ?? null,
      child_id: subject.childId ?? null,
      expires_at: expiresAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id, value, expiresAt };
}

export interface RedeemedToken {
  id: string;
  purpose: TokenPurpose;
  user_id: string | null;
  invitation_id: string | null;
  child_id: string | null;
}

/**
 * Use a token once. One UPDATE marks it used only if it is unused and unexpired, so
 * two concurrent redeems cannot both succeed. Otherwise a 400 says why:
 * token_unknown (also a token of another purpose), token_used, token_expired.
 */
export async function redeemToken(trx: AppDb, value: string, purposes: readonly TokenPurpose[]): Promise<RedeemedToken> {
  const hash = hashSecret(value);
  const redeemed = await trx
    .updateTable('app.email_token')
    .set({ used_at: sql`now()` })
    .where('token_hash', '=', hash)
    .where('purpose', 'in', purposes)
    .where('used_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .returning(['id', 'purpose', 'user_id', 'invitation_id', 'child_id'])
    .executeTakeFirst();
  if (redeemed) return redeemed;
  const found = await trx
    .selectFrom('app.email_token')
    .select(['used_at'])
    .where('token_hash', '=', hash)
    .where('purpose', 'in', purposes)
    .executeTakeFirst();
  if (!found) throw new AppError(400, 'token_unknown', 'this link is not valid', 'token');
  if (found.used_at) throw new AppError(400, 'token_used', 'this link has already been used', 'token');
  throw new AppError(400, 'token_expired', 'this link has expired', 'token');
}

/** Mark a subject's outstanding tokens of these purposes used (a newer link, or the thing is done). */
export async function retireTokens(trx: AppDb, purposes: readonly TokenPurpose[], subject: TokenSubject): Promise<void> {
  let query = trx.updateTable('app.email_token').set({ used_at: sql`now()` }).where('used_at', 'is', null).where('purpose', 'in', purposes);
  if (subject.userId) query = query.where('user_id', '=', subject.userId);
  if (subject.invitationId) query = query.where('invitation_id', '=', subject.invitationId);
  if (subject.childId) query = query.where('child_id', '=', subject.childId);
  await query.execute();
}

/**
 * Claim a send key in the caller's transaction; false when someone already has.
 * A concurrent claim of the same key waits for the first transaction, then loses.
 * Use the key as the email's idempotency key too.
 */
export async function claimOnce(trx: AppDb, key: string): Promise<boolean> {
  const claimed = await trx.insertInto('app.send_once').values({ key }).onConflict((c) => c.doNothing()).returning('key').executeTakeFirst();
  return claimed !== undefined;
}

/** The start of the fixed window `now` falls in, as a key part: at most one send per window. */
export function windowKey(now: Date, windowMs: number): string {
  return new Date(Math.floor(now.getTime() / windowMs) * windowMs).toISOString();
}
