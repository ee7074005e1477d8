// Backlogs and the wait for them to drain, shared by the end-to-end benchmarks.
// Bench rows are created now; the scale bench's history is days old, so
// "recent" tells them apart and a bench never wipes the history it runs beside.
import type pg from 'pg';

const RECENT = `created_at > now() - interval '1 day'`;

/** `count` committed verify-email rows, due now, in one statement. */
export async function insertBacklog(pool: pg.Pool, count: number, props: Record<string, unknown>): Promise<void> {
  await pool.query(
    `insert into mailroom.outbox (template, recipient, props)
     select 'verify-email', 'bulk' || g || '@example.test', $1::jsonb from generate_series(1, $2::int) g`,
    [JSON.stringify(props), count],
  );
}

/** Poll every 20 ms until at least `count` recent rows are sent. */
export async function waitForSent(pool: pg.Pool, count: number): Promise<void> {
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from mailroom.outbox where status = 'sent' and ${RECENT}`);
    if (rows[0]!.n >= count) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Remove the rows (and attempts) of earlier measurements; the history stays. */
export async function clearRecentRows(pool: pg.Pool): Promise<void> {
  await pool.query(`delete from mailroom.outbox where ${RECENT}`);
}
