// Seeded delivery traffic for the admin charts' tests: outbox rows with one attempt
// each, finished at a chosen time, written in one statement as the worker would
// have left them (no worker needed).
import type pg from 'pg';

export interface Tries {
  n: number;
  /** Minutes before now the tries finished (fractions allowed). */
  minutesAgo: number;
  outcome?: 'sent' | 'failed' | 'retry';
  template?: string;
  transport?: string;
  /** The message of try i (failed and retried tries). */
  message?: (i: number) => string;
  /** How long after its row was due each try ended. */
  latencyMs?: (i: number) => number;
}

/** `n` rows, each with one attempt that finished `minutesAgo` minutes ago. Returns the row ids and that minute. */
export async function seedTries(pool: pg.Pool, t: Tries): Promise<{ ids: string[]; minute: Date }> {
  const latencies = Array.from({ length: t.n }, (_, i) => t.latencyMs?.(i) ?? 50);
  const messages = Array.from({ length: t.n }, (_, i) => (t.outcome && t.outcome !== 'sent' ? (t.message?.(i) ?? '451 try later') : null));
  const { rows } = await pool.query<{ id: string; minute: Date }>(
    `with r as (
       select u.i, now() - $2 * interval '1 minute' as finished, u.ms, u.msg
         from unnest($6::float8[], $7::text[]) with ordinality as u(ms, msg, i) where u.i <= $1::int
     ), o as (
       insert into mailroom.outbox (template, recipient, props, status, attempts, created_at, send_after)
       select $4, 'user' || r.i || '@example.test', '{}', case $3 when 'sent' then 'sent' when 'failed' then 'failed' else 'retrying' end, 1,
              r.finished - r.ms * interval '1 millisecond', r.finished - r.ms * interval '1 millisecond'
         from r
       returning id, recipient, created_at
     ), a as (
       insert into mailroom.delivery_attempt (outbox_id, attempt, transport, outcome, error_class, error_message, started_at, finished_at)
       select o.id, 1, $5, $3, case when $3 = 'sent' then null else 'permanent' end, r.msg, o.created_at, r.finished
         from o join r on o.recipient = 'user' || r.i || '@example.test'
     )
     select o.id, date_trunc('minute', now() - $2 * interval '1 minute') as minute from o`,
    [t.n, t.minutesAgo, t.outcome ?? 'sent', t.template ?? 'account-confirm', t.transport ?? 'smtp', latencies, messages],
  );
  return { ids: rows.map((r) => r.id), minute: rows[0]!.minute };
}

