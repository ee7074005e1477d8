// Backlogs and the wait for them to drain, shared by the end-to-end benchmarks.
import type pg from 'pg';

/** `count` committed verify-email rows, due now, in one statement. */
export async function insertBacklog(pool: pg.Pool, count: number, props: Record<string, unknown>): Promise<void> {
  await pool.query(
    `insert into mailroom.outbox (template, recipient, props)
     select 'verify-email', 'bulk' || g || '@example.test', $1::jsonb from generate_series(1, $2::int) g`,
    [JSON.stringify(props), count],
  );
}

/** Poll every 20 ms until at least `count` rows are sent. */
export async function waitForSent(pool: pg.Pool, count: number): Promise<void> {
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from mailroom.outbox where status = 'sent'`);
    if (rows[0]!.n >= count) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}
