// What operators do to the outbox: look, replay, cancel. One service used by the
// CLI (and later the admin pages), so both follow the same rules.
import { sql, type Kysely } from 'kysely';
import type { Database, OutboxStatus } from '../db/types.ts';
import { ValidationError } from '../errors.ts';

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

/** "90s", "15m", "1h", "7d" -> milliseconds. */
export function parseDuration(text: string, field: string): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!match) throw new ValidationError(field, `"${text}" is not a duration like 90s, 15m, 1h or 7d`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
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

export async function showRow(db: Kysely<Database>, id: string) {
  const row = await db.selectFrom('mailroom.outbox').selectAll().where('id', '=', checkId(id)).executeTakeFirst();
  if (!row) return undefined;
  const attempts = await db
    .selectFrom('mailroom.delivery_attempt')
    .selectAll()
    .where('outbox_id', '=', row.id)
    .orderBy('attempt')
    .orderBy('id')
    .execute();
  return { row, attempts };
}

export interface ReplayResult {
  matched: string[];
  replayed: string[];
}

/** Replay rows by id. A row that is not failed/expired/cancelled (or sent, with resend) is left alone. */
export async function replayIds(db: Kysely<Database>, ids: string[], options: { resend?: boolean; dryRun?: boolean } = {}) {
  const checked = ids.map((id) => checkId(id));
  const existing = await db.selectFrom('mailroom.outbox').select(['id', 'status']).where('id', 'in', checked).execute();
  const missing = checked.filter((id) => !existing.some((row) => row.id === id));
  if (missing.length > 0) throw new ValidationError('id', `no outbox row ${missing.join(', ')}`);
  return replayMatched(db, checked, options);
}

export async function replayFilter(db: Kysely<Database>, filter: RowFilter, options: { resend?: boolean; dryRun?: boolean } = {}) {
  if (!filter.status) throw new ValidationError('status', 'is required when replaying by filter (e.g. --status failed)');
  const rows = await applyFilter(db.selectFrom('mailroom.outbox').select('id'), filter).execute();
  return replayMatched(db, rows.map((r) => r.id), options);
}

async function replayMatched(db: Kysely<Database>, ids: string[], options: { resend?: boolean; dryRun?: boolean }): Promise<ReplayResult> {
  if (options.dryRun || ids.length === 0) return { matched: ids, replayed: [] };
  const replayed: string[] = [];
  // One short statement per row: replay never holds many rows locked at once.
  for (const id of ids) {
    const { rows } = await sql<{ ok: boolean }>`select mailroom.replay(${id}::uuid, ${options.resend ?? false}) as ok`.execute(db);
    if (rows[0]?.ok) replayed.push(id);
  }
  return { matched: ids, replayed };
}

/** Cancel a row that has not been sent. A row being sent right now cannot be cancelled. */
export async function cancelRow(db: Kysely<Database>, id: string): Promise<{ cancelled: boolean; status: OutboxStatus }> {
  const checked = checkId(id);
  const updated = await db
    .updateTable('mailroom.outbox')
    .set({ status: 'cancelled', job_id: null, updated_at: sql`now()`, last_error: 'cancelled by operator' })
    .where('id', '=', checked)
    .where('status', 'in', ['pending', 'queued', 'retrying'])
    .returning('status')
    .executeTakeFirst();
  if (updated) return { cancelled: true, status: 'cancelled' };
  const row = await db.selectFrom('mailroom.outbox').select('status').where('id', '=', checked).executeTakeFirst();
  if (!row) throw new ValidationError('id', `no outbox row ${checked}`);
  return { cancelled: false, status: row.status };
}

function applyFilter<QB extends { where: (...args: any[]) => QB }>(query: QB, filter: RowFilter): QB {
  let q = query;
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.template) q = q.where('template', '=', filter.template);
  if (filter.recipient) q = q.where(sql`lower(recipient)`, '=', filter.recipient.toLowerCase());
  if (filter.sinceMs != null) q = q.where('created_at', '>=', new Date(Date.now() - filter.sinceMs));
  return q;
}
