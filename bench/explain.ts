// The admin list's queries at scale: seed an outbox of N rows in one INSERT ...
// SELECT from generate_series (a realistic mix: mostly sent, a few failed, eleven
// templates, 50,000 recipients, 90 days of history), ANALYZE, then EXPLAIN each
// query the pages send (src/admin/outbox-admin.ts listQuery) with and without a
// keyset cursor, and say which index each uses. Used by `npm run bench -- explain`
// (a million rows, with EXPLAIN ANALYZE timings) and by
// test/admin.list-uses-indexes.test.ts (fewer rows, plans only).
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { dashboard } from '../src/admin/dashboard.ts';
import { listQuery, type ListCursor, type RowFilter } from '../src/admin/outbox-admin.ts';
import { connect } from '../src/db/connect.ts';
import type { Database } from '../src/db/types.ts';
import { templateNames } from '../test/support/product.ts';

/** One row in a thousand: a filter on it must not walk the whole list to fill a page. */
const RARE_TEMPLATE = 'password-changed';

/** Insert `rows` outbox rows in one statement, then ANALYZE. Returns the seconds it took. */
export async function seedOutbox(pool: pg.Pool, rows: number): Promise<{ insertSeconds: number; analyzeSeconds: number }> {
  const started = performance.now();
  // Templates: one in a thousand rows is RARE_TEMPLATE, the rest spread evenly over
  // the other ten in runs of 100 (so every status meets every template). Status by bucket of i: 93% sent, 2% failed, 1% each of the rest (pending,
  // retrying, queued, cancelled, suppressed, expired). created_at spreads the rows
  // evenly over 90 days, newest first by i.
  await pool.query(
    `insert into mailroom.outbox (template, recipient, props, status, attempts, created_at, send_after, sent_at, updated_at)
     select case when i % 1000 = 7 then $3 else t.templates[1 + ((i / 100) % array_length(t.templates, 1))] end,
            'user' || (i % 50000) || '@example.test',
            '{"token": "seeded-token-0123456789"}'::jsonb,
            s.status, 1, c.created_at, c.created_at,
            case when s.status = 'sent' then c.created_at + interval '1 second' end,
            c.created_at
       from generate_series(1, $1::int) i
       cross join (select $2::text[] as templates) t
       cross join lateral (select case
                  when i % 100 < 93 then 'sent' when i % 100 < 95 then 'failed' when i % 100 = 95 then 'pending'
                  when i % 100 = 96 then 'retrying' when i % 100 = 97 then 'cancelled'
                  when i % 100 = 98 then 'suppressed' else 'expired' end as status) s
       cross join lateral (select now() - (i * (interval '90 days' / $1::int)) as created_at) c`,
    [rows, templateNames.filter((name) => name !== RARE_TEMPLATE), RARE_TEMPLATE],
  );
  const inserted = performance.now();
  await pool.query('analyze mailroom.outbox');
  return { insertSeconds: (inserted - started) / 1000, analyzeSeconds: (performance.now() - inserted) / 1000 };
}

export interface ListCase {
  name: string;
  filter: RowFilter;
  /** Ask for the page after a row in the middle of the filter's rows. */
  deep: boolean;
}

/** Every filter of the list page, alone and in the usual pairs, on the first page and deep in the list. */
export function listCases(now = new Date()): ListCase[] {
  const day = 86_400_000;
  const filters: [string, RowFilter][] = [
    ['no filter', {}],
    ['status=failed', { status: 'failed' }],
    ['status=sent', { status: 'sent' }],
    ['template=password-reset (1 row in 10)', { template: 'password-reset' }],
    [`template=${RARE_TEMPLATE} (1 in 1,000)`, { template: RARE_TEMPLATE }],
    ['recipient', { recipient: 'User123@example.test' }],
    ['created in a 7-day range', { createdFrom: new Date(now.getTime() - 30 * day), createdBefore: new Date(now.getTime() - 23 * day) }],
    ['status=failed + template', { status: 'failed', template: 'verify-email' }],
    ['status=failed + 7-day range', { status: 'failed', createdFrom: new Date(now.getTime() - 30 * day), createdBefore: new Date(now.getTime() - 23 * day) }],
    ['recipient + status=sent', { recipient: 'user123@example.test', status: 'sent' }],
  ];
  return filters.flatMap(([name, filter]) => [
    { name, filter, deep: false },
    { name: `${name}, after a cursor`, filter, deep: true },
  ]);
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Total Time'?: number;
  'Plan Rows'?: number;
  Plans?: PlanNode[];
}

export interface ListPlan {
  name: string;
  /** Every node of the plan, e.g. "Index Scan using outbox_status_list_idx on outbox". */
  nodes: string[];
  /** Indexes of mailroom.outbox the plan reads. */
  indexes: string[];
  seqScanOnOutbox: boolean;
  /** The planner's estimate of the rows its largest Sort sorts (0: no Sort, rows come in index order). */
  sortRows: number;
  /** With analyze: execution time in ms. */
  executionMs?: number;
  rows?: number;
}

function walk(node: PlanNode, out: PlanNode[] = []): PlanNode[] {
  out.push(node);
  for (const child of node.Plans ?? []) walk(child, out);
  return out;
}

/** A cursor in the middle of the filter's rows (the page after it is a deep page). */
async function middleCursor(db: Kysely<Database>, pool: pg.Pool, filter: RowFilter): Promise<ListCursor | undefined> {
  const compiled = listQuery(db, filter, { limit: 100_000 }).compile();
  const { rows } = await pool.query<{ id: string; cursor_at: string }>(compiled.sql, compiled.parameters as unknown[]);
  const middle = rows[Math.floor(rows.length / 2)];
  return middle ? { createdAt: middle.cursor_at, id: middle.id } : undefined;
}

/** EXPLAIN (FORMAT JSON) each case's query as the pages send it (51 rows: a page and one more). */
export async function explainListQueries(
  db: Kysely<Database>,
  pool: pg.Pool,
  options: { analyze?: boolean; cases?: ListCase[] } = {},
): Promise<ListPlan[]> {
  const plans: ListPlan[] = [];
  for (const c of options.cases ?? listCases()) {
    const after = c.deep ? await middleCursor(db, pool, c.filter) : undefined;
    if (c.deep && !after) throw new Error(`${c.name}: the seeded outbox has no rows for this filter`);
    const compiled = listQuery(db, c.filter, { limit: 51, after }).compile();
    const { rows } = await pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time'?: number }] }>(
      `explain (format json${options.analyze ? ', analyze, buffers' : ''}) ${compiled.sql}`,
      compiled.parameters as unknown[],
    );
    const root = rows[0]!['QUERY PLAN'][0];
    const nodes = walk(root.Plan);
    plans.push({
      name: c.name,
      nodes: nodes.map((n) => [n['Node Type'], n['Index Name'] ? `using ${n['Index Name']}` : '', n['Relation Name'] ? `on ${n['Relation Name']}` : ''].filter(Boolean).join(' ')),
      indexes: [...new Set(nodes.filter((n) => n['Relation Name'] === 'outbox' || n['Index Name']?.startsWith('outbox')).flatMap((n) => (n['Index Name'] ? [n['Index Name']] : [])))],
      seqScanOnOutbox: nodes.some((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'outbox'),
      sortRows: Math.max(0, ...nodes.filter((n) => /Sort/.test(n['Node Type'])).map((n) => n['Plan Rows'] ?? Infinity)),
      ...(root['Execution Time'] !== undefined ? { executionMs: Math.round(root['Execution Time'] * 1000) / 1000 } : {}),
    });
  }
  return plans;
}

/** `npm run bench -- explain`: seed, then EXPLAIN ANALYZE every case; prints a table. */
export async function benchExplain(database: { url: string }, options: { rows: number }) {
  const db = connect(database.url, { max: 2, applicationName: 'mailroom-bench-explain' });
  try {
    const seeded = await seedOutbox(db.pool, options.rows);
    console.log(`Admin list queries at ${options.rows} outbox rows (seeded in ${seeded.insertSeconds.toFixed(1)} s, analyzed in ${seeded.analyzeSeconds.toFixed(1)} s)`);
    // Twice: the first pass warms the cache; the second is what an operator paging sees.
    await explainListQueries(db.kysely, db.pool, { analyze: true });
    const plans = await explainListQueries(db.kysely, db.pool, { analyze: true });
    console.table(
      plans.map((p) => ({ query: p.name, index: p.indexes.join(', '), 'seq scan': p.seqScanOnOutbox ? 'YES' : 'no', sorts: p.sortRows, ms: p.executionMs })),
    );
    // The overview page's queries read the rollups of migrations/0020 and capped
    // counts (bench/dashboard.ts measures them at 10 million rows with attempts).
    await dashboard(db.kysely, { window: 'hour' });
    const overviewStarted = performance.now();
    await dashboard(db.kysely, { window: 'hour' });
    const overviewMs = Math.round((performance.now() - overviewStarted) * 10) / 10;
    console.log(`overview page queries (rollups, counts by status capped at 10,000): ${overviewMs} ms`);
    const bad = plans.filter((p) => p.seqScanOnOutbox || p.indexes.length === 0);
    if (bad.length > 0) {
      console.log(`NOT using an index: ${bad.map((p) => `${p.name}: ${p.nodes.join(' -> ')}`).join('\n')}`);
      process.exitCode = 1;
    }
    return { rows: options.rows, ...seeded, overviewMs, plans };
  } finally {
    await db.close();
  }
}
