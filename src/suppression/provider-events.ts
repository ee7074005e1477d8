// Provider events in, suppressions out. A batch of events is stored in one
// transaction: all of it, or (on any error) none of it.
import type { Kysely } from 'kysely';
import type { Database } from '../db/types.ts';

export interface ProviderEvent {
  provider: 'mailjet';
  event: string;
  address: string;
  outboxId: string | null;
  providerMessageId: string | null;
  /** For bounces: a permanent failure (the address does not exist). */
  hard: boolean | null;
  reason: string | null;
  occurredAt: Date | null;
  payload: unknown;
}

/** Hard bounces and spam complaints stop all later mail to the address. */
export function suppressionReason(event: ProviderEvent): string | null {
  if (event.event === 'bounce' && event.hard) return 'hard_bounce';
  if (event.event === 'spam') return 'complaint';
  return null;
}

export async function recordProviderEvents(db: Kysely<Database>, events: ProviderEvent[]): Promise<{ stored: number; suppressed: string[] }> {
  if (events.length === 0) return { stored: 0, suppressed: [] };
  return db.transaction().execute(async (trx) => {
    await trx
      .insertInto('mailroom.delivery_event')
      .values(
        events.map((e) => ({
          provider: e.provider,
          event: e.event,
          address: e.address,
          outbox_id: e.outboxId,
          provider_message_id: e.providerMessageId,
          hard: e.hard,
          reason: e.reason,
          occurred_at: e.occurredAt,
          payload: JSON.stringify(e.payload),
        })),
      )
      .execute();
    const suppressions = events
      .map((e) => ({ address: e.address.toLowerCase(), reason: suppressionReason(e), source: e.provider }))
      .filter((s): s is { address: string; reason: string; source: 'mailjet' } => s.reason !== null);
    const unique = [...new Map(suppressions.map((s) => [s.address, s])).values()];
    if (unique.length > 0) {
      await trx.insertInto('mailroom.suppression').values(unique).onConflict((oc) => oc.column('address').doNothing()).execute();
    }
    return { stored: events.length, suppressed: unique.map((s) => s.address) };
  });
}

export async function addSuppression(db: Kysely<Database>, address: string, reason: string): Promise<boolean> {
  const result = await db
    .insertInto('mailroom.suppression')
    .values({ address: address.toLowerCase(), reason, source: 'manual' })
    .onConflict((oc) => oc.column('address').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function removeSuppression(db: Kysely<Database>, address: string): Promise<boolean> {
  const result = await db.deleteFrom('mailroom.suppression').where('address', '=', address.toLowerCase()).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function listSuppressions(db: Kysely<Database>, limit = 1000) {
  return db.selectFrom('mailroom.suppression').selectAll().orderBy('created_at', 'desc').limit(limit).execute();
}


/** A page of the suppression list in address order, optionally of addresses starting with `prefix`. */
export async function suppressionPage(db: Kysely<Database>, options: { prefix?: string; after?: string; limit?: number } = {}) {
  const limit = options.limit ?? 100;
  let query = db.selectFrom('mailroom.suppression').selectAll().orderBy('address').limit(limit + 1);
  if (options.prefix) query = query.where('address', 'like', `${options.prefix.toLowerCase().replace(/[\\%_]/g, '\\$&')}%`);
  if (options.after) query = query.where('address', '>', options.after);
  const rows = await query.execute();
  return { rows: rows.slice(0, limit), next: rows.length > limit ? rows[limit - 1]!.address : null };
}
