// The rate limiter's statements. The bucket arithmetic lives in PostgreSQL
// (migrations/0007_rate_limits.sql), so every worker process shares one set of
// buckets and a batch costs one call, whatever its size.
import type pg from 'pg';

export interface PermitAnswer {
  permitted: boolean;
  wait_ms: number;
  reason: string | null;
}

/** One answer per row, in the order given. */
export async function takeSendPermits(
  db: pg.Pool | pg.ClientBase,
  buckets: { keys: string[]; rates: (number | null)[] },
  rows: { transport: number; domain: number | null }[],
  recoveryMs: number,
): Promise<PermitAnswer[]> {
  const { rows: answers } = await db.query<PermitAnswer>(
    'select permitted, wait_ms, reason from mailroom.take_send_permits($1::text[], $2::float8[], $3, $4::int[], $5::int[])',
    [buckets.keys, buckets.rates, recoveryMs, rows.map((r) => r.transport), rows.map((r) => r.domain)],
  );
  return answers;
}

// With no rate in play, only a pause can hold a batch back: a plain read, no lock
// and no write, so an unlimited setup costs one index lookup per batch.
const PAUSED_FOR = `
  select (extract(epoch from paused_until - clock_timestamp()) * 1000)::float8 as wait_ms, pause_reason
    from mailroom.rate_limit
   where key = $1 and paused_until > clock_timestamp()`;

export async function pausedFor(db: pg.Pool, key: string): Promise<{ waitMs: number; reason: string | null } | null> {
  const { rows } = await db.query<{ wait_ms: number; pause_reason: string | null }>(PAUSED_FOR, [key]);
  return rows[0] ? { waitMs: rows[0].wait_ms, reason: rows[0].pause_reason } : null;
}

// Rows refused a permit go from `queued` (never marked `sending`) back to
// `pending`, due when their bucket will have a token for them, if they are still
// queued under the same job. Not a try: nothing is counted (tries are counted when
// recorded), no attempt row is written, and the relay claims them again when due.
const DEFER = `
  update mailroom.outbox o
     set status = 'pending',
         send_after = now() + d.wait_ms * interval '1 millisecond',
         job_id = null,
         queued_at = null,
         lease_expires_at = null,
         last_error = d.reason,
         updated_at = now()
    from unnest($1::uuid[], $2::uuid[], $3::float8[], $4::text[]) as d(id, job_id, wait_ms, reason)
   where o.id = d.id and o.job_id = d.job_id and o.status = 'queued'`;

export async function deferRows(db: pg.Pool, rows: { id: string; jobId: string; waitMs: number; reason: string }[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(DEFER, [rows.map((r) => r.id), rows.map((r) => r.jobId), rows.map((r) => r.waitMs), rows.map((r) => r.reason)]);
}

export async function slowDownTransport(db: pg.Pool, key: string, recoveryMs: number): Promise<void> {
  await db.query('select mailroom.slow_down_transport($1, $2)', [key, recoveryMs]);
}

export async function pauseTransport(db: pg.Pool, key: string, pauseMs: number, reason: string): Promise<Date> {
  const { rows } = await db.query<{ paused_until: Date }>('select mailroom.pause_transport($1, $2, $3) as paused_until', [key, pauseMs, reason]);
  return rows[0]!.paused_until;
}
