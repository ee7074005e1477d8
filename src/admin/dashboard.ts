// What the admin overview's charts show, read from the rollups of migrations/0020
// (never from the whole outbox): tries per minute or hour, the latency of the tries
// that sent, the backlog, failure rates by template and the errors grouped. The
// minutes not yet rolled up come from the attempts themselves, so the page is live.
import { sql, type Kysely } from 'kysely';
import type { Database, OutboxStatus } from '../db/types.ts';
import { ValidationError } from '../errors.ts';
import { rollUp } from '../audit/chart-rollups.ts';
import { STATUSES } from './outbox-admin.ts';

/** The two windows: the last hour by minute, the last 7 days by hour. */
export const WINDOWS = {
  hour: { label: 'last hour', grain: 'minute', bucketMs: 60_000, buckets: 60 },
  week: { label: 'last 7 days', grain: 'hour', bucketMs: 3_600_000, buckets: 168 },
} as const;
export type WindowName = keyof typeof WINDOWS;

export interface DashboardFilter {
  window: WindowName;
  template?: string;
  transport?: string;
}

export function checkWindow(text: string, field = 'window'): WindowName {
  if (text !== 'hour' && text !== 'week') throw new ValidationError(field, `"${text}" is not a window: hour or week`);
  return text;
}

/** Counts by status are exact up to this; beyond it the page says "more than". */
export const COUNT_CAP = 10_000;
/** The error groups shown. */
export const ERROR_GROUPS_SHOWN = 20;
/** How long a page view may spend rolling up history before it draws what it has. */
const ROLL_UP_BUDGET_MS = 2_000;
/** The rollup may lag this far behind before the page says the charts are behind. */
const BEHIND_MS = 10 * 60_000;

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** p50/p95/p99 in ms from histogram steps (upper bounds: a try in step s took at most 2^(s/4) ms). */
export function percentilesOf(steps: { step: number; sent: number }[]): Percentiles | null {
  const total = steps.reduce((n, s) => n + s.sent, 0);
  if (total === 0) return null;
  const sorted = [...steps].sort((a, b) => a.step - b.step);
  const at = (q: number) => {
    let seen = 0;
    for (const s of sorted) {
      seen += s.sent;
      if (seen >= q * total) return 2 ** (s.step / 4);
    }
    return 2 ** (sorted.at(-1)!.step / 4);
  };
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

export interface DashboardData {
  filter: DashboardFilter;
  /** Start of each bucket, oldest first (UTC). */
  buckets: Date[];
  bucketMs: number;
  tries: { sent: number[]; failed: number[]; retried: number[] };
  latency: (Percentiles | null)[];
  /** Due rows and the longest wait of a due row, sampled; null: no sample in that bucket. */
  backlog: { due: (number | null)[]; oldestDueSeconds: (number | null)[] };
  now: { byStatus: Record<OutboxStatus, number>; countCap: number; due: number; oldestDueSeconds: number | null };
  byTemplate: { template: string; sent: number; failed: number; retried: number; failureRate: number | null }[];
  errors: { template: string; transport: string; outcome: 'failed' | 'retry'; errorClass: string; pattern: string; tries: number; lastAt: Date }[];
  /** For the filter's choices: what the window's rollups hold. */
  templates: string[];
  transports: string[];
  rolledUpTo: Date | null;
  /** The rollup lags more than 10 minutes (a long backlog of history being rolled up). */
  behind: boolean;
}

/** Everything the overview draws, for one window and optional template and transport. */
export async function dashboard(db: Kysely<Database>, filter: DashboardFilter): Promise<DashboardData> {
  const window = WINDOWS[filter.window];
  // Catch up first, within a budget: a worker rolls up every minute, so this is
  // usually one cheap call; without a worker (only `mailroom serve`), the page does it.
  const started = performance.now();
  while (!(await rollUp(db, { maxSpan: '6 hours' })) && performance.now() - started < ROLL_UP_BUDGET_MS);
  // One snapshot for every statement: the mark, the rollups and the tail agree even
  // while a worker rolls up (no minute doubled or dropped). JIT off: these are small
  // queries whose estimates (a one-row state table, a tail of unknown length) once
  // made PostgreSQL spend 0.3-0.6 s compiling each (docs/performance.md).
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => {
      await sql`set local jit = off`.execute(trx);
      const { rows: clock } = await sql<{ now: Date; first: Date; rolled: Date | null }>`
        select now() as now,
               date_trunc(${window.grain}, now()) - ${window.buckets - 1}::int * ${`1 ${window.grain}`}::interval as first,
               (select rolled_up_to from mailroom.rollup_state) as rolled`.execute(trx);
      const { now, first, rolled } = clock[0]!;
      const behind = !rolled || now.getTime() - rolled.getTime() > BEHIND_MS;
      // The live tail: attempts after the rollup's mark, unless it lags so far that
      // reading them would be the expensive query the rollups exist to avoid.
      const tailFrom = behind ? null : rolled;
      const template = filter.template ?? null;
      const transport = filter.transport ?? null;
      const grain = window.grain;

      const tail = sql`select date_trunc(${grain}, t.minute) as at, t.* from mailroom.tries_between(${tailFrom}::timestamptz, 'infinity') t
                        where ${tailFrom}::timestamptz is not null`;
      const matches = sql`(${template}::text is null or x.template = ${template}) and (${transport}::text is null or x.transport = ${transport})`;

      const [tries, latency, backlog, byTemplate, errors, choices, now_] = await Promise.all([
        sql<{ at: Date; sent: string; failed: string; retried: string }>`
          select x.at, sum(x.sent) as sent, sum(x.failed) as failed, sum(x.retried) as retried from (
            select r.at, r.template, r.transport, r.sent, r.failed, r.retried
              from mailroom.rollup_tries r where r.grain = ${grain} and r.at >= ${first}
            union all
            select t.at, t.template, t.transport,
                   coalesce(sum(t.tries) filter (where t.outcome = 'sent'), 0), coalesce(sum(t.tries) filter (where t.outcome = 'failed'), 0),
                   coalesce(sum(t.tries) filter (where t.outcome = 'retry'), 0)
              from (${tail}) t group by 1, 2, 3) x
           where ${matches}
           group by x.at`.execute(trx),
        sql<{ at: Date; step: number; sent: string }>`
          select x.at, x.le_step as step, sum(x.sent) as sent from (
            select r.at, r.template, r.transport, r.le_step, r.sent
              from mailroom.rollup_latency r where r.grain = ${grain} and r.at >= ${first}
            union all
            select t.at, t.template, t.transport, t.le_step, t.tries from (${tail}) t where t.outcome = 'sent') x
           where ${matches}
           group by x.at, x.le_step`.execute(trx),
        sql<{ at: Date; due: number; oldest: number | null }>`
          select date_trunc(${grain}, b.at) as at, max(b.due) as due, max(b.oldest_due_seconds) as oldest
            from mailroom.rollup_backlog b where b.at >= ${first} group by 1`.execute(trx),
        sql<{ template: string; sent: string; failed: string; retried: string }>`
          select x.template, sum(x.sent) as sent, sum(x.failed) as failed, sum(x.retried) as retried from (
            select r.template, r.transport, r.sent, r.failed, r.retried
              from mailroom.rollup_tries r where r.grain = ${grain} and r.at >= ${first}
            union all
            select t.template, t.transport, (t.outcome = 'sent')::int * t.tries, (t.outcome = 'failed')::int * t.tries, (t.outcome = 'retry')::int * t.tries
              from (${tail}) t) x
           where ${matches}
           group by x.template`.execute(trx),
        // Errors are rolled up by hour: the hour window's groups start at the top of the hour before.
        sql<{ template: string; transport: string; outcome: 'failed' | 'retry'; error_class: string; pattern: string; tries: string; last_at: Date }>`
          select x.template, x.transport, x.outcome, x.error_class, x.pattern, sum(x.tries) as tries, max(x.last_at) as last_at from (
            select r.template, r.transport, r.outcome, r.error_class, r.pattern, r.tries, r.last_at
              from mailroom.rollup_errors r where r.at >= date_trunc('hour', ${first}::timestamptz)
            union all
            select t.template, t.transport, t.outcome, t.error_class, t.pattern, t.tries, t.last_at from (${tail}) t where t.outcome <> 'sent') x
           where ${matches}
           group by 1, 2, 3, 4, 5
           order by sum(x.tries) desc, max(x.last_at) desc
           limit ${ERROR_GROUPS_SHOWN}`.execute(trx),
        sql<{ template: string; transport: string }>`
          select distinct r.template, r.transport from mailroom.rollup_tries r where r.grain = ${grain} and r.at >= ${first}`.execute(trx),
        currentCounts(trx),
      ]);

      const buckets = Array.from({ length: window.buckets }, (_, i) => new Date(first.getTime() + i * window.bucketMs));
      const index = (at: Date) => Math.round((new Date(at).getTime() - first.getTime()) / window.bucketMs);
      const zeros = () => buckets.map(() => 0);
      const series = { sent: zeros(), failed: zeros(), retried: zeros() };
      for (const r of tries.rows) {
        const i = index(r.at);
        if (i < 0 || i >= buckets.length) continue;
        series.sent[i]! += Number(r.sent);
        series.failed[i]! += Number(r.failed);
        series.retried[i]! += Number(r.retried);
      }
      const steps = buckets.map(() => [] as { step: number; sent: number }[]);
      for (const r of latency.rows) steps[index(r.at)]?.push({ step: Number(r.step), sent: Number(r.sent) });
      const due: (number | null)[] = buckets.map(() => null);
      const oldest: (number | null)[] = buckets.map(() => null);
      for (const r of backlog.rows) {
        const i = index(r.at);
        if (i < 0 || i >= buckets.length) continue;
        due[i] = Number(r.due);
        oldest[i] = r.oldest === null ? 0 : Number(r.oldest);
      }
      const templates = [...new Set(choices.rows.map((r) => r.template))].sort();
      const transports = [...new Set(choices.rows.map((r) => r.transport))].sort();
      return {
        filter,
        buckets,
        bucketMs: window.bucketMs,
        tries: series,
        latency: steps.map(percentilesOf),
        backlog: { due, oldestDueSeconds: oldest },
        now: now_,
        byTemplate: byTemplate.rows
          .map((r) => {
            const [sent, failed, retried] = [Number(r.sent), Number(r.failed), Number(r.retried)];
            return { template: r.template, sent, failed, retried, failureRate: sent + failed > 0 ? failed / (sent + failed) : null };
          })
          .sort((a, b) => (b.failureRate ?? -1) - (a.failureRate ?? -1) || b.failed - a.failed || a.template.localeCompare(b.template)),
        errors: errors.rows.map((r) => ({
          template: r.template,
          transport: r.transport,
          outcome: r.outcome,
          errorClass: r.error_class,
          pattern: r.pattern,
          tries: Number(r.tries),
          lastAt: new Date(r.last_at),
        })),
        templates,
        transports,
        rolledUpTo: rolled,
        behind,
      };
    });
}

/**
 * Rows by status now, each counted up to COUNT_CAP from outbox_phase_list_idx
 * (a status with millions of rows reads COUNT_CAP index entries, not the table;
 * queued and sending share the phase 'in flight', and are told apart on the row),
 * and the due rows (outbox_due_idx) with the longest wait among them.
 */
async function currentCounts(db: Kysely<Database>): Promise<DashboardData['now']> {
  const [counts, due] = await Promise.all([
    sql<{ status: OutboxStatus; n: number }>`
      select s.status,
             case when mailroom.outbox_phase(s.status) = 'in flight'
                  then (select count(*)::int from (select 1 from mailroom.outbox o
                                                    where o.phase = 'in flight' and o.status = s.status limit ${COUNT_CAP + 1}) x)
                  else (select count(*)::int from (select 1 from mailroom.outbox o where o.phase = s.status limit ${COUNT_CAP + 1}) x)
             end as n
        from unnest(${STATUSES}::text[]) s(status)`.execute(db),
    sql<{ due: number; oldest: number | null }>`select b.due, b.oldest_due_seconds as oldest from mailroom.backlog_now(${COUNT_CAP + 1}) b`.execute(db),
  ]);
  const byStatus = Object.fromEntries(counts.rows.map((r) => [r.status, r.n])) as Record<OutboxStatus, number>;
  const d = due.rows[0]!;
  return { byStatus, countCap: COUNT_CAP, due: d.due, oldestDueSeconds: d.oldest === null ? null : Math.max(0, d.oldest) };
}
