// Provider events in, suppressions out. A batch of events is stored in one
// transaction: all of it, or (on any error) none of it.
//
// Each event is kept once: one that has the key of an event already stored
// (mailroom.delivery_event_key, migrations/0008) is a replay, whether the provider
// retried or someone resent an old request, and is ignored, so a replayed complaint
// cannot put back an address an operator has just lifted, and nothing counts it twice.
//
// Each event is matched to the outbox row it is about: the row its CustomID names
// (mailroom sends the outbox id), else the one row whose sent attempt got its
// provider message id (Mailjet's MessageID). An event that matches no row (another
// application's CustomID, a row since purged) is stored unmatched, outbox_id null.
//
// A hard bounce or a complaint suppresses its address only when mailroom mailed it:
// the event's row is to that address, or an outbox row to that address exists.
// One about an address never mailed is stored, for the record, and suppresses
// nothing; so are the other events (sent, blocked, soft bounces, opens, clicks,
// unsubscribes).
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
  /** The outbox row the event names (Mailjet's CustomID, when it is a UUID); null when it names none. */
  outboxId: string | null;
  /** The provider's id of the message (Mailjet's MessageID): matches the event to its row when outboxId does not. */
  providerMessageId: string | null;
  /** For bounces: a permanent failure (the address does not exist). */
  hard: boolean | null;
  reason: string | null;
  occurredAt: Date | null;
  payload: unknown;
}

/** One event newly stored, with what it was matched to. */
export interface StoredProviderEvent {
  event: string;
  /** The outbox row it was matched to, null when none. */
  outboxId: string | null;
  /** That row's template (null when unmatched). */
  template: string | null;
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
  /** Unsubscribe events that opted their address out of the row's category (new opt-outs). */
  optedOut: number;
  /** The events newly stored, in the order received: what a counter of events counts (never a replay). */
  events: StoredProviderEvent[];
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
  template: string | null;
}

/**
 * `categories` (template -> opt-out category, the config's non-essential templates):
 * a provider's unsubscribe about a row of such a template lands in mailroom.opt_out,
 * as the one-click link does.
 */
export async function recordProviderEvents(db: Kysely<Database>, events: ProviderEvent[], categories: ReadonlyMap<string, string> = new Map()): Promise<RecordedEvents> {
  if (events.length === 0) return { stored: 0, duplicates: 0, suppressed: [], notMailed: 0, optedOut: 0, events: [] };
  const column = <T>(pick: (e: ProviderEvent) => T) => events.map(pick);
  return db.transaction().execute(async (trx) => {
    // In the order received; a repeat, even within this batch, is skipped by the unique key.
    // The row an event is about: the one its CustomID names, if it exists; else the
    // only row with a sent attempt of that provider message id
    // (delivery_attempt_provider_message_idx); else none.
    const { rows: stored } = await sql<StoredEvent>`
      with received as (
        select e.*
          from unnest(${column((e) => e.provider)}::text[], ${column((e) => e.event)}::text[], ${column((e) => e.address)}::text[],
                      ${column((e) => e.outboxId)}::uuid[], ${column((e) => e.providerMessageId)}::text[], ${column((e) => e.hard)}::boolean[],
                      ${column((e) => e.reason)}::text[], ${column((e) => e.occurredAt)}::timestamptz[],
                      ${column((e) => JSON.stringify(e.payload))}::jsonb[])
               with ordinality as e(provider, event, address, named_id, provider_message_id, hard, reason, occurred_at, payload, n)
      ), matched as (
        select r.*,
               coalesce((select o.id from mailroom.outbox o where o.id = r.named_id),
                        (select (array_agg(distinct a.outbox_id))[1] from mailroom.delivery_attempt a
                          where a.provider_message_id = r.provider_message_id and a.outcome = 'sent'
                         having count(distinct a.outbox_id) = 1)) as outbox_id
          from received r
      ), inserted as (
        insert into mailroom.delivery_event
               (provider, event, address, outbox_id, provider_message_id, hard, reason, occurred_at, payload, event_key)
        select m.provider, m.event, m.address, m.outbox_id, m.provider_message_id, m.hard, m.reason, m.occurred_at, m.payload,
               mailroom.delivery_event_key(m.provider, m.payload)
          from matched m
         order by m.n
            on conflict (provider, event_key) do nothing
        returning id, provider, event, hard, address, outbox_id
      )
      select i.provider, i.event, i.hard, i.address, i.outbox_id, o.template
        from inserted i left join mailroom.outbox o on o.id = i.outbox_id
       order by i.id`.execute(trx);

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
    const optOuts = stored.flatMap((e) => {
      const category = e.event === 'unsub' && e.template ? categories.get(e.template) : undefined;
      return category ? [{ address: e.address, category }] : [];
    });
    let optedOut = 0;
    if (optOuts.length > 0) {
      const { rows } = await sql<{ n: number }>`
        with added as (
          insert into mailroom.opt_out (address, category, source)
          select distinct mailroom.normalize_address(o.address), o.category, 'provider'
            from unnest(${optOuts.map((o) => o.address)}::text[], ${optOuts.map((o) => o.category)}::text[]) as o(address, category)
              on conflict do nothing
          returning 1
        )
        select count(*)::int as n from added`.execute(trx);
      optedOut = rows[0]!.n;
    }
    return {
      stored: stored.length,
      duplicates: events.length - stored.length,
      optedOut,
      suppressed: [...new Set(judged.filter((j) => j.mailed).map((j) => j.address))],
      notMailed: judged.filter((j) => !j.mailed).length,
      events: stored.map((e) => ({ event: e.event, outboxId: e.outbox_id, template: e.template })),
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
