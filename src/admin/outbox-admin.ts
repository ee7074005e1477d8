// What operators do to the outbox: look, replay, cancel. One service used by the
// CLI and the admin pages (src/admin/http/), so both follow the same rules.
import { sql, type Kysely } from 'kysely';
import type { Database, OutboxStatus } from '../db/types.ts';
import { ValidationError } from '../errors.ts';
import { normalizeAddress } from '../suppression/address.ts';

export const STATUSES: readonly OutboxStatus[] = [
  'pending', 'queued', 'sending', 'retrying', 'sent', 'failed', 'cancelled', 'suppressed', 'expired',
];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function checkId(id: string, field = 'id'): string {
  if (!UUID.test(id)) throw new ValidationError(field, `"${id}" is not an outbox id (a UUID)`);
  return id.toLowerCase();
}

export function checkStatus(status: string, field = 'status'): OutboxStatus {
  if (!STATUSES.includes(status as OutboxStatus)) {
    throw new ValidationError(field, `"${status}" is not one of ${STATUSES.join(', ')}`);
  }
  return status as OutboxStatus;
}

/** The longest duration a flag takes: 100 years (of 365 days). Beyond it, `now() - duration` is no date. */
export const MAX_DURATION_MS = 100 * 365 * 86_400_000;

/** "90s", "15m", "1h", "7d" -> milliseconds, at most MAX_DURATION_MS. */
export function parseDuration(text: string, field: string): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!match) throw new ValidationError(field, `"${text}" is not a duration like 90s, 15m, 1h or 7d`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  const ms = Number(match[1]) * unit;
  if (!(ms <= MAX_DURATION_MS)) throw new ValidationError(field, `"${text}" is longer than 100 years (36500d), the most it takes`);
  return ms;
}

export async function statusCounts(db: Kysely<Database>) {
  const counts = await db
    .selectFrom('mailroom.outbox')
    .select(['status', (eb) => eb.fn.countAll<string>().as('count')])
    .groupBy('status')
    .execute();
  const oldest = await db
    .selectFrom('mailroom.outbox')
    .select((eb) => eb.fn.min('created_at').as('oldest'))
    // By phase (outbox_phase_list_idx, migrations/0024), then the statuses meant.
    .where('phase', 'in', ['pending', 'retrying', 'in flight'])
    .where('status', 'in', ['pending', 'retrying', 'queued'])
    .where('send_after', '<=', sql<Date>`now()`)
    .executeTakeFirst();
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<OutboxStatus, number>;
  for (const row of counts) byStatus[row.status as OutboxStatus] = Number(row.count);
  const oldestDue = oldest?.oldest ? new Date(oldest.oldest as Date) : null;
  return { byStatus, oldestDueAgeSeconds: oldestDue ? Math.max(0, (Date.now() - oldestDue.getTime()) / 1000) : null };
}

export interface RowFilter {
  status?: OutboxStatus;
  template?: string;
  recipient?: string;
  /** Only rows created within this many ms. */
  sinceMs?: number;
  /** Only rows created at or after this instant. */
  createdFrom?: Date;
  /** Only rows created before this instant. */
  createdBefore?: Date;
  /**
   * Only rows with an attempt that matches all of these: its outcome, its
   * transport, finished at or after `triedFrom` and before `triedBefore` (the
   * admin charts' drill-down: "the rows that failed in this minute").
   */
  outcome?: AttemptOutcome;
  transport?: string;
  triedFrom?: Date;
  triedBefore?: Date;
}

export const ATTEMPT_OUTCOMES = ['sent', 'retry', 'failed'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** The attempt part of a filter is set: rows are matched by their attempts too. */
const filtersAttempts = (filter: RowFilter) => !!(filter.outcome || filter.transport || filter.triedFrom || filter.triedBefore);

/**
 * Who did an operator action, as the timeline shows it: `admin (203.0.113.7)`,
 * `cli (ops@host)`. One line of 1 to 200 characters (mailroom.operator_action).
 */
export function checkActor(actor: string): string {
  if (typeof actor !== 'string' || actor.length < 1 || actor.length > 200 || /[\r\n]/.test(actor)) {
    throw new ValidationError('actor', 'must be one line of 1 to 200 characters');
  }
  return actor;
}

/** The actor of actions taken through this module's functions when the caller names none. */
export const DEFAULT_ACTOR = 'api';

/** True when the filter narrows nothing: every row of the outbox matches. */
export function isEmptyFilter(filter: RowFilter): boolean {
  return (
    !filter.status && !filter.template && !filter.recipient && filter.sinceMs == null && !filter.createdFrom && !filter.createdBefore &&
    !filtersAttempts(filter)
  );
}

/**
 * A position in the newest-first list: the last row's created_at (to the
 * microsecond, as text: a JS Date keeps only milliseconds, and rounding would skip
 * or repeat rows created in the same millisecond) and its id.
 */
export interface ListCursor {
  createdAt: string;
  id: string;
}

const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)~([0-9a-f-]{36})$/i;

export function encodeCursor(cursor: ListCursor): string {
  return `${cursor.createdAt}~${cursor.id}`;
}

export function decodeCursor(text: string, field = 'after'): ListCursor {
  const match = CURSOR.exec(text);
  if (!match) throw new ValidationError(field, `"${text}" is not a list position`);
  // The regex checks the shape only: the instant must exist (no 2026-02-30, no 25:00,
  // no year 0, no leap second), or PostgreSQL would refuse it mid-query.
  const at = match[1]!;
  const date = new Date(`${at.slice(0, 23)}Z`);
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1 || date.toISOString().slice(0, 23) !== at.slice(0, 23)) {
    throw new ValidationError(field, `"${text}" is not a list position (${at} is no instant)`);
  }
  return { createdAt: at, id: checkId(match[2]!, field) };
}

/** The list's query, newest first (exported so its plan can be checked: bench/explain.ts). */
export function listQuery(db: Kysely<Database>, filter: RowFilter, options: { limit: number; after?: ListCursor | undefined }) {
  let query = applyFilter(
    db
      .selectFrom('mailroom.outbox')
      .select(['id', 'template', 'recipient', 'status', 'attempts', 'max_attempts', 'created_at', 'sent_at', 'last_error'])
      .select(sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('cursor_at'))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(options.limit),
    filter,
  );
  if (options.after) {
    query = query.where(sql<boolean>`(created_at, id) < (${options.after.createdAt}::timestamptz, ${options.after.id}::uuid)`);
  }
  return query;
}

/**
 * One page of the list, newest first, after `after` (keyset pagination on
 * (created_at, id): every page costs the same, however deep). Each filter has an
 * index that yields rows in this order (migrations/0006_admin_list_indexes.sql).
 */
export async function listPage(db: Kysely<Database>, filter: RowFilter, options: { limit?: number; after?: ListCursor } = {}) {
  const limit = options.limit ?? 50;
  const found = await listQuery(db, filter, { ...options, limit: limit + 1 }).execute();
  const rows = found.slice(0, limit).map(({ cursor_at, ...row }) => ({ ...row, cursor: encodeCursor({ createdAt: cursor_at, id: row.id }) }));
  const last = rows.at(-1);
  return { rows, next: found.length > limit && last ? last.cursor : null };
}

export async function listRows(db: Kysely<Database>, filter: RowFilter, limit = 50) {
  return applyFilter(
    db
      .selectFrom('mailroom.outbox')
      .select(['id', 'template', 'recipient', 'status', 'attempts', 'max_attempts', 'created_at', 'sent_at', 'last_error'])
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit),
    filter,
  ).execute();
}

/** The most provider events `showRow` reads for one row (a much-opened email can have thousands). */
export const EVENTS_SHOWN = 500;

/**
 * One row as `mailroom show` and the admin row page show it: its columns, with the
 * provider events about it (`row.events`, the first EVENTS_SHOWN in time order, and
 * `row.moreEvents` when there are more), and its attempts. The events ride on the row
 * because they are the row's, as the views count them (mailroom.deliveries):
 * timelineOf() puts the three in one story.
 */
export async function showRow(db: Kysely<Database>, id: string) {
  const row = await db.selectFrom('mailroom.outbox').selectAll().where('id', '=', checkId(id)).executeTakeFirst();
  if (!row) return undefined;
  const [attempts, events, actions] = await Promise.all([
    db
      .selectFrom('mailroom.delivery_attempt')
      .selectAll()
      .where('outbox_id', '=', row.id)
      .orderBy('attempt')
      .orderBy('id')
      .execute(),
    db
      .selectFrom('mailroom.delivery_event')
      .select(['id', 'provider', 'event', 'address', 'provider_message_id', 'hard', 'reason', 'occurred_at', 'received_at', 'payload'])
      // The views' word for it (delivered, bounced, opened...): migrations/0014.
      .select(sql<string>`mailroom.event_kind(provider, event)`.as('kind'))
      .where('outbox_id', '=', row.id)
      .orderBy(sql`coalesce(occurred_at, received_at)`)
      .orderBy('id')
      .limit(EVENTS_SHOWN + 1)
      .execute(),
    db
      .selectFrom('mailroom.operator_action')
      .select(['action', 'actor', 'at'])
      .where('outbox_id', '=', row.id)
      .orderBy('at')
      .orderBy('id')
      .execute(),
  ]);
  return { row: { ...row, events: events.slice(0, EVENTS_SHOWN), moreEvents: events.length > EVENTS_SHOWN, actions }, attempts };
}

type ShownRow = NonNullable<Awaited<ReturnType<typeof showRow>>>;
export type ProviderEventRow = ShownRow['row']['events'][number];
export type AttemptRow = ShownRow['attempts'][number];

/** One line of a row's story: its enqueue, its hand-off to the queue, each attempt, each provider event, each operator action. */
export type TimelineEntry =
  | { kind: 'enqueued'; at: Date }
  /** Claimed by the relay, for a sender of its own process or for pg-boss (the latest hand-off: a retry hands the row over again). */
  | { kind: 'queued'; at: Date }
  | { kind: 'action'; at: Date; action: 'replay' | 'resend' | 'cancel'; actor: string }
  | {
      kind: 'attempt';
      at: Date;
      attempt: number;
      transport: string;
      outcome: AttemptRow['outcome'];
      errorClass: AttemptRow['error_class'];
      responseCode: number | null;
      /** From the start of the try (render included) to its end. */
      durationMs: number;
      /** false: throttled or a configuration fault, not counted against max_attempts. */
      counted: boolean;
      detail: string | null;
    }
  | {
      kind: 'event';
      /** The provider's time of the event (whole seconds for Mailjet), or when it was received. */
      at: Date;
      receivedAt: Date;
      provider: string;
      /** The provider's name of the event (Mailjet: sent, bounce, blocked, spam, unsub, open, click). */
      event: string;
      /** What the audit views call it: delivered, bounced, blocked, complained, opened, clicked, unsubscribed. */
      eventKind: string;
      hard: boolean | null;
      /** The address the event names, when it is not the row's recipient. */
      address: string | null;
      detail: string | null;
    };

const asText = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : null);

/** What an event says beyond its type: a bounce's error, a click's link, a delivery's SMTP reply. */
export function eventDetail(event: Pick<ProviderEventRow, 'event' | 'reason' | 'payload'>): string | null {
  const payload = (event.payload ?? {}) as Record<string, unknown>;
  switch (event.event) {
    case 'click':
      return asText(payload.url);
    case 'bounce':
    case 'blocked': {
      const related = asText(payload.error_related_to);
      const error = asText(payload.error) ?? event.reason;
      return related && error ? `${related}: ${error}` : (error ?? related);
    }
    case 'unsub':
      return asText(payload.mj_list_id) ? `list ${asText(payload.mj_list_id)}` : null;
    default:
      return event.reason;
  }
}

const RANK = { enqueued: 0, action: 1, queued: 2, attempt: 3, event: 4 } as const;

/**
 * The row's story in time order: enqueued, operator actions (replay, cancel: who
 * and when), the latest hand-off to the queue, each attempt (transport, outcome,
 * response code, duration), each provider event. Mailjet's times are whole
 * seconds while the rest is timed to the millisecond, so an event counts as the
 * end of its second: it comes after whatever else happened in that second (a
 * provider can only report on what was sent).
 */
export function timelineOf({
  row,
  attempts,
}: Pick<ShownRow, 'attempts'> & { row: Pick<ShownRow['row'], 'created_at' | 'recipient' | 'events' | 'queued_at'> & { actions?: ShownRow['row']['actions'] } }): TimelineEntry[] {
  const recipient = normalizeAddress(row.recipient);
  const entries: TimelineEntry[] = [
    { kind: 'enqueued', at: new Date(row.created_at) },
    ...(row.queued_at ? [{ kind: 'queued' as const, at: new Date(row.queued_at) }] : []),
    ...(row.actions ?? []).map((a): TimelineEntry => ({ kind: 'action', at: new Date(a.at), action: a.action as 'replay' | 'resend' | 'cancel', actor: a.actor })),
    ...attempts.map(
      (a): TimelineEntry => ({
        kind: 'attempt',
        at: new Date(a.started_at),
        attempt: a.attempt,
        transport: a.transport,
        outcome: a.outcome,
        errorClass: a.error_class,
        responseCode: a.response_code,
        durationMs: Math.max(0, new Date(a.finished_at).getTime() - new Date(a.started_at).getTime()),
        counted: a.counted,
        detail: a.response ?? a.error_message,
      }),
    ),
    ...row.events.map(
      (e): TimelineEntry => ({
        kind: 'event',
        at: new Date(e.occurred_at ?? e.received_at),
        receivedAt: new Date(e.received_at),
        provider: e.provider,
        event: e.event,
        eventKind: e.kind,
        hard: e.hard,
        address: normalizeAddress(e.address) === recipient ? null : e.address,
        detail: eventDetail(e),
      }),
    ),
  ];
  const sortTime = (e: TimelineEntry) => (e.kind === 'event' ? Math.floor(e.at.getTime() / 1000) * 1000 + 999.5 : e.at.getTime());
  // Array.prototype.sort is stable: equal entries keep their order (attempts by number, events by id).
  return entries.sort((a, b) => sortTime(a) - sortTime(b) || RANK[a.kind] - RANK[b.kind]);
}

export interface ReplayResult {
  matched: string[];
  replayed: string[];
}

/** Replay rows by id. A row that is not failed/expired/cancelled (or sent, with resend) is left alone. */
export async function replayIds(db: Kysely<Database>, ids: string[], options: { resend?: boolean; dryRun?: boolean; actor?: string } = {}) {
  const checked = ids.map((id) => checkId(id));
  const existing = await db.selectFrom('mailroom.outbox').select(['id', 'status']).where('id', 'in', checked).execute();
  const missing = checked.filter((id) => !existing.some((row) => row.id === id));
  if (missing.length > 0) throw new ValidationError('id', `no outbox row ${missing.join(', ')}`);
  return replayMatched(db, checked, options);
}

/**
 * Replay every row of a filter (status required). With `expected`, nothing
 * happens unless exactly that many rows would be replayed (CountChangedError).
 */
export async function replayFilter(
  db: Kysely<Database>,
  filter: RowFilter,
  options: { resend?: boolean; dryRun?: boolean; expected?: number; actor?: string } = {},
) {
  if (!filter.status) throw new ValidationError('status', 'is required when replaying by filter (e.g. --status failed)');
  if (options.expected !== undefined) {
    return replayMatched(db, await eligibleIds(db, 'replay', filter, options), options);
  }
  const rows = await applyFilter(db.selectFrom('mailroom.outbox').select('id'), filter).execute();
  return replayMatched(db, rows.map((r) => r.id), options);
}

/** Statuses a replay moves back to pending (and `sent`, with resend). */
export const REPLAYABLE: readonly OutboxStatus[] = ['failed', 'expired', 'cancelled'];
/** Statuses a cancel stops: not sent and not being sent right now. */
export const CANCELLABLE: readonly OutboxStatus[] = ['pending', 'queued', 'retrying'];

export type BulkAction = 'replay' | 'cancel';

/** The rows of a filter that an action would change (a row it would skip is not counted). */
function eligible(db: Kysely<Database>, action: BulkAction, filter: RowFilter, options: { resend?: boolean }) {
  const statuses = action === 'cancel' ? CANCELLABLE : options.resend ? [...REPLAYABLE, 'sent' as const] : REPLAYABLE;
  return applyFilter(db.selectFrom('mailroom.outbox'), filter).where('status', 'in', statuses);
}

/** The rules for acting on every row of a filter, the same from the CLI and the pages. */
export function checkBulkFilter(action: BulkAction, filter: RowFilter): void {
  if (action === 'replay' && !filter.status) {
    throw new ValidationError('status', 'is required when replaying by filter (e.g. --status failed)');
  }
  if (isEmptyFilter(filter)) throw new ValidationError('filter', `give at least one filter to ${action} by: every row would match`);
}

/** How many rows `replayFilter` / `cancelFilter` would change now: the count an operator confirms. */
export async function countBulk(db: Kysely<Database>, action: BulkAction, filter: RowFilter, options: { resend?: boolean } = {}) {
  checkBulkFilter(action, filter);
  const row = await eligible(db, action, filter, options).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Thrown when the rows of a filter changed between the count an operator confirmed and the action. */
export class CountChangedError extends ValidationError {
  constructor(readonly expected: number, readonly actual: number) {
    super('expected', `${actual} row(s) match now, not the ${expected} confirmed: look again and confirm the new count`);
    this.name = 'CountChangedError';
  }
}

async function eligibleIds(db: Kysely<Database>, action: BulkAction, filter: RowFilter, options: { resend?: boolean; expected?: number }) {
  checkBulkFilter(action, filter);
  const rows = await eligible(db, action, filter, options).select('id').execute();
  if (options.expected !== undefined && rows.length !== options.expected) throw new CountChangedError(options.expected, rows.length);
  return rows.map((r) => r.id);
}

async function replayMatched(db: Kysely<Database>, ids: string[], options: { resend?: boolean; dryRun?: boolean; actor?: string }): Promise<ReplayResult> {
  const actor = checkActor(options.actor ?? DEFAULT_ACTOR);
  if (options.dryRun || ids.length === 0) return { matched: ids, replayed: [] };
  const replayed: string[] = [];
  // One short statement per row: replay never holds many rows locked at once.
  // mailroom.replay() records who asked in mailroom.operator_action.
  for (const id of ids) {
    const { rows } = await sql<{ ok: boolean }>`select mailroom.replay(${id}::uuid, ${options.resend ?? false}, ${actor}) as ok`.execute(db);
    if (rows[0]?.ok) replayed.push(id);
  }
  return { matched: ids, replayed };
}

/** Cancel these rows where they are still unsent, and record who did it; returns the ids cancelled. */
async function cancelIds(db: Kysely<Database>, ids: string[], actor: string): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    with cancelled as (
      update mailroom.outbox
         set status = 'cancelled', job_id = null, updated_at = now(), last_error = 'cancelled by operator'
       where id = any(${ids}::uuid[]) and status = any(${CANCELLABLE}::text[])
      returning id
    ), recorded as (
      insert into mailroom.operator_action (outbox_id, action, actor) select id, 'cancel', ${actor} from cancelled
    )
    select id from cancelled`.execute(db);
  return rows.map((r) => r.id);
}

/** Cancel a row that has not been sent. A row being sent right now cannot be cancelled. */
export async function cancelRow(db: Kysely<Database>, id: string, options: { actor?: string } = {}): Promise<{ cancelled: boolean; status: OutboxStatus }> {
  const checked = checkId(id);
  const actor = checkActor(options.actor ?? DEFAULT_ACTOR);
  if ((await cancelIds(db, [checked], actor)).length === 1) return { cancelled: true, status: 'cancelled' };
  const row = await db.selectFrom('mailroom.outbox').select('status').where('id', '=', checked).executeTakeFirst();
  if (!row) throw new ValidationError('id', `no outbox row ${checked}`);
  return { cancelled: false, status: row.status };
}

/**
 * Cancel every row of a filter that has not been sent (pending, queued, retrying).
 * With `expected`, nothing happens unless exactly that many rows would be cancelled.
 */
export async function cancelFilter(
  db: Kysely<Database>,
  filter: RowFilter,
  options: { dryRun?: boolean; expected?: number; actor?: string } = {},
): Promise<{ matched: string[]; cancelled: string[] }> {
  const actor = checkActor(options.actor ?? DEFAULT_ACTOR);
  const ids = await eligibleIds(db, 'cancel', filter, options);
  if (options.dryRun || ids.length === 0) return { matched: ids, cancelled: [] };
  const cancelled: string[] = [];
  // Batches of 500: a short lock on a few rows at a time, never the whole filter.
  for (let i = 0; i < ids.length; i += 500) cancelled.push(...(await cancelIds(db, ids.slice(i, i + 500), actor)));
  return { matched: ids, cancelled };
}

function applyFilter<QB extends { where: (...args: any[]) => QB }>(query: QB, filter: RowFilter): QB {
  let q = query;
  // By phase first: outbox_phase_list_idx (migrations/0024); the status tells queued from sending.
  if (filter.status) q = q.where(sql`phase`, '=', sql`mailroom.outbox_phase(${filter.status})`).where('status', '=', filter.status);
  if (filter.template) q = q.where('template', '=', filter.template);
  if (filter.recipient) q = q.where(sql`lower(recipient)`, '=', filter.recipient.toLowerCase());
  if (filter.sinceMs != null) q = q.where('created_at', '>=', new Date(Date.now() - filter.sinceMs));
  if (filter.createdFrom) q = q.where('created_at', '>=', filter.createdFrom);
  if (filter.createdBefore) q = q.where('created_at', '<', filter.createdBefore);
  if (filtersAttempts(filter)) {
    // delivery_attempt_finished_idx finds a time range's attempts; their rows by primary key.
    const conditions = [sql`a.outbox_id = mailroom.outbox.id`];
    if (filter.outcome) conditions.push(sql`a.outcome = ${filter.outcome}`);
    if (filter.transport) conditions.push(sql`a.transport = ${filter.transport}`);
    if (filter.triedFrom) conditions.push(sql`a.finished_at >= ${filter.triedFrom}`);
    if (filter.triedBefore) conditions.push(sql`a.finished_at < ${filter.triedBefore}`);
    q = q.where(sql<boolean>`exists (select 1 from mailroom.delivery_attempt a where ${sql.join(conditions, sql` and `)})`);
  }
  return q;
}
