// Retention: delete settled outbox rows past their age, and strip the sensitive
// props of rows that will never be sent. Each batch is its own short statement
// (autocommit), so a purge of millions of rows never holds a long transaction,
// never keeps the xmin horizon back, and can be stopped at any time; attempts go
// with their row (on delete cascade).
import type pg from 'pg';
import type { Catalogue } from '../templates/catalogue.ts';

export interface PurgeOptions {
  /** The app's templates: their sensitive props are what scrubbing removes. */
  catalogue: Catalogue;
  /** Delete `sent` rows sent longer ago than this (ms). */
  sentOlderThanMs: number;
  /** Delete `failed`, `cancelled`, `expired` and `suppressed` rows settled longer ago than this (ms). */
  failedOlderThanMs: number;
  /** Remove sensitive props from unsent settled rows older than this (ms); they keep the rest for audit. */
  scrubOlderThanMs: number;
  /** Rows per statement. */
  batchSize: number;
  /** Count what would go, change nothing. */
  dryRun?: boolean;
  /** Called after each batch (progress for the CLI). */
  onBatch?: (step: 'sent' | 'failed' | 'scrubbed', rows: number) => void;
}

export interface PurgeResult {
  sent: number;
  failed: number;
  scrubbed: number;
}

const UNSENT_SETTLED = `('failed', 'cancelled', 'expired', 'suppressed')`;

// created_at <= the cutoff is implied by the settle time and lets the
// (phase, created_at) index find the candidates (a settled row's phase is its
// status, migrations/0024); the settle time decides.
const CANDIDATES = {
  sent: `phase = 'sent' and created_at < now() - $1 * interval '1 millisecond' and sent_at < now() - $1 * interval '1 millisecond'`,
  failed: `phase in ${UNSENT_SETTLED} and created_at < now() - $1 * interval '1 millisecond' and updated_at < now() - $1 * interval '1 millisecond'`,
} as const;

const deleteBatch = (where: string) => `
  delete from mailroom.outbox o
   where o.id in (select id from mailroom.outbox where ${where} limit $2 for update skip locked)`;

// Sensitive props by template ($2), from the catalogue: the same lists the sender
// scrubs on success. A scrubbed row can no longer be replayed meaningfully: its
// token is gone, which is the point; its token had expired long before anyway.
const SCRUB_WHERE = `phase in ${UNSENT_SETTLED} and created_at < now() - $1 * interval '1 millisecond'
  and exists (select 1 from jsonb_to_recordset($2::jsonb) as s(template text, keys text[])
               where s.template = mailroom.outbox.template and mailroom.outbox.props ?| s.keys)`;
const SCRUB_BATCH = `
  with sensitive as (select * from jsonb_to_recordset($2::jsonb) as s(template text, keys text[])),
  batch as (select id from mailroom.outbox where ${SCRUB_WHERE} limit $3 for update skip locked)
  update mailroom.outbox o
     set props = o.props - sensitive.keys
    from batch, sensitive
   where o.id = batch.id and sensitive.template = o.template`;

function sensitiveKeys(catalogue: Catalogue): string {
  return JSON.stringify(
    catalogue
      .entries()
      .map(([template, entry]) => ({ template, keys: [...entry.sensitiveProps] }))
      .filter((entry) => entry.keys.length > 0),
  );
}

interface Step {
  name: keyof PurgeResult;
  /** Statement and parameters that count the candidates. */
  count: [string, unknown[]];
  /** Statement and parameters of one batch, given its size. */
  batch: (size: number) => [string, unknown[]];
}

export async function purge(pool: pg.Pool, options: PurgeOptions): Promise<PurgeResult> {
  const keys = sensitiveKeys(options.catalogue);
  const steps: Step[] = [
    {
      name: 'sent',
      count: [`select count(*)::int as n from mailroom.outbox where ${CANDIDATES.sent}`, [options.sentOlderThanMs]],
      batch: (size) => [deleteBatch(CANDIDATES.sent), [options.sentOlderThanMs, size]],
    },
    {
      name: 'failed',
      count: [`select count(*)::int as n from mailroom.outbox where ${CANDIDATES.failed}`, [options.failedOlderThanMs]],
      batch: (size) => [deleteBatch(CANDIDATES.failed), [options.failedOlderThanMs, size]],
    },
    {
      name: 'scrubbed',
      count: [`select count(*)::int as n from mailroom.outbox where ${SCRUB_WHERE}`, [options.scrubOlderThanMs, keys]],
      batch: (size) => [SCRUB_BATCH, [options.scrubOlderThanMs, keys, size]],
    },
  ];

  // The admin charts count attempts the rows take with them: count them first
  // (src/audit/chart-rollups.ts; this module speaks plain pg).
  if (!options.dryRun) while (!(await pool.query<{ done: boolean }>('select mailroom.roll_up() as done')).rows[0]!.done);
  const result: PurgeResult = { sent: 0, failed: 0, scrubbed: 0 };
  for (const step of steps) {
    if (options.dryRun) {
      const { rows } = await pool.query<{ n: number }>(...step.count);
      result[step.name] = rows[0]!.n;
      continue;
    }
    for (;;) {
      const { rowCount } = await pool.query(...step.batch(options.batchSize));
      const n = rowCount ?? 0;
      result[step.name] += n;
      if (n > 0) options.onBatch?.(step.name, n);
      if (n < options.batchSize) break;
    }
  }
  return result;
}
