// Provider events in, suppressions out. A batch of events is stored in one
// transaction: all of it, or (on any error) none of it.
//
// Each event is kept once: one that has the key of an event already stored
// (mailroom.delivery_event_key, migrations/0008) is a replay, whether the provider
// retried or someone resent an old request, and is ignored, so a replayed complaint
// cannot put back an address an operator has just lifted. A hard bounce or a
// complaint suppresses its address only when mailroom mailed it: the event names
// an outbox row to that address (Mailjet's CustomID), or an outbox row to that
// address exists. Others are stored, for the record, and suppress nothing.
//
// Addresses are compared and stored in one form, normalizeAddress() here and
// mailroom.normalize_address() in SQL (see ./address.ts).
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/types.ts';
import { normalizeAddress } from './address.ts';

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

export interface RecordedEvents {
  /** Events new to mailroom, now stored. */
  stored: number;
  /** Events stored before (replays): ignored. */
  duplicates: number;
  /** The addresses (normalised) that these events suppress, newly or again. */
  suppressed: string[];
  /** Hard bounces and complaints about addresses mailroom never mailed: stored, suppressing nothing. */
  notMailed: number;
}

/** Hard bounces and spam complaints stop all later mail to the address. */
export function suppressionReason(event: Pick<ProviderEvent, 'event' | 'hard'>): string | null {
  if (event.event === 'bounce' && event.hard) return 'hard_bounce';
  if (event.event === 'spam') return 'complaint';
  return null;
}

interface StoredEvent {
  provider: string;
  event: string;
  hard: boolean | null;
  address: string;
  outbox_id: string | null;
}

export async function recordProviderEvents(db: Kysely<Database>, events: ProviderEvent[]): Promise<RecordedEvents> {
  if (events.length === 0) return { stored: 0, duplicates: 0, suppressed: [], notMailed: 0 };
  const column = <T>(pick: (e: ProviderEvent) => T) => events.map(pick);
  return db.transaction().execute(async (trx) => {
    // In the order received; a repeat, even within this batch, is skipped by the unique key.
    const { rows: stored } = await sql<StoredEvent>`
      insert into mailroom.delivery_event
             (provider, event, address, outbox_id, provider_message_id, hard, reason, occurred_at, payload, event_key)
      select e.provider, e.event, e.address, e.outbox_id, e.provider_message_id, e.hard, e.reason, e.occurred_at, e.payload,
             mailroom.delivery_event_key(e.provider, e.payload)
        from unnest(${column((e) => e.provider)}::text[], ${column((e) => e.event)}::text[], ${column((e) => e.address)}::text[],
                    ${column((e) => e.outboxId)}::uuid[], ${column((e) => e.providerMessageId)}::text[], ${column((e) => e.hard)}::boolean[],
                    ${column((e) => e.reason)}::text[], ${column((e) => e.occurredAt)}::timestamptz[],
                    ${column((e) => JSON.stringify(e.payload))}::jsonb[])
             with ordinality as e(provider, event, address, outbox_id, provider_message_id, hard, reason, occurred_at, payload, n)
       order by e.n
          on conflict (provider, event_key) do nothing
      returning provider, event, hard, address, outbox_id`.execute(trx);

    const suppressing = stored.flatMap((e) => {
      const reason = suppressionReason(e);
      return reason ? [{ ...e, reason }] : [];
    });
    let judged: { address: string; mailed: boolean }[] = [];
    if (suppressing.length > 0) {
      // Mailed: the event's outbox row is to this address, or some outbox row is
      // (found through the lower(recipient) index, confirmed by the normal form).
      ({ rows: judged } = await sql<{ address: string; mailed: boolean }>`
        with e as (
          select mailroom.normalize_address(e.address) as address, e.address as given, e.outbox_id, e.reason, e.source, e.n
            from unnest(${suppressing.map((e) => e.address)}::text[], ${suppressing.map((e) => e.outbox_id)}::uuid[],
                        ${suppressing.map((e) => e.reason)}::text[], ${suppressing.map((e) => e.provider)}::text[])
                 with ordinality as e(address, outbox_id, reason, source, n)
        ), judged as (
          select e.*,
                 exists (select 1 from mailroom.outbox o
                          where o.id = e.outbox_id and mailroom.normalize_address(o.recipient) = e.address)
                 or exists (select 1 from mailroom.outbox o
                             where lower(o.recipient) = lower(e.given) and mailroom.normalize_address(o.recipient) = e.address) as mailed
            from e
        ), added as (
          insert into mailroom.suppression (address, reason, source)
          select distinct on (address) address, reason, source from judged where mailed order by address, n
              on conflict (address) do nothing
        )
        select address, mailed from judged order by n`.execute(trx));
    }
    return {
      stored: stored.length,
      duplicates: events.length - stored.length,
      suppressed: [...new Set(judged.filter((j) => j.mailed).map((j) => j.address))],
      notMailed: judged.filter((j) => !j.mailed).length,
    };
  });
}

export async function addSuppression(db: Kysely<Database>, address: string, reason: string): Promise<boolean> {
  const result = await db
    .insertInto('mailroom.suppression')
    .values({ address: normalizeAddress(address), reason, source: 'manual' })
    .onConflict((oc) => oc.column('address').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function removeSuppression(db: Kysely<Database>, address: string): Promise<boolean> {
  const result = await db.deleteFrom('mailroom.suppression').where('address', '=', normalizeAddress(address)).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function listSuppressions(db: Kysely<Database>, limit = 1000) {
  return db.selectFrom('mailroom.suppression').selectAll().orderBy('created_at', 'desc').limit(limit).execute();
}

/** A page of the suppression list in address order, optionally of addresses starting with `prefix` (in any case). */
export async function suppressionPage(db: Kysely<Database>, options: { prefix?: string; after?: string; limit?: number } = {}) {
  const limit = options.limit ?? 100;
  let query = db.selectFrom('mailroom.suppression').selectAll().orderBy('address').limit(limit + 1);
  if (options.prefix) query = query.where('address', 'like', `${normalizeAddress(options.prefix).replace(/[\\%_]/g, '\\$&')}%`);
  if (options.after) query = query.where('address', '>', options.after);
  const rows = await query.execute();
  return { rows: rows.slice(0, limit), next: rows.length > limit ? rows[limit - 1]!.address : null };
}
