// The admin overview at scale (issue #15): seed an outbox of N rows over 30 days
// with one delivery attempt per settled row (and some retries), time the first
// catch-up of the rollups (migrations/0020), then dashboard() for both windows with
// and without a filter, the page as a signed-in operator gets it over HTTP, and
// EXPLAIN (ANALYZE, BUFFERS) every statement dashboard() sends (those inside
// mailroom.roll_up() through auto_explain): once as the catch-up leaves the rollup
// tables, once after VACUUM ANALYZE of them, and dashboard() again on connections
// with jit = off. Beside it, the old overview's full count by status. `npm run bench -- dashboard` (BENCH_DASHBOARD_ROWS, default
// 10,000,000: several GB and tens of minutes).
import { Kysely, PostgresDialect } from 'kysely';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { dashboard, type DashboardFilter } from '../src/admin/dashboard.ts';
import { rollUpAll } from '../src/audit/chart-rollups.ts';
import { connect, type Db } from '../src/db/connect.ts';
import type { Database } from '../src/db/types.ts';
import { buildServer } from '../src/http/server.ts';
import { createLogger } from '../src/logger.ts';
import { config as productConfig, templateNames } from '../test/support/product.ts';

/** One row in a thousand (as in bench/explain.ts). */
const RARE_TEMPLATE = 'password-changed';
/** The template filter measured: one row in ten. */
const FILTER_TEMPLATE = 'password-reset';
const FILTER_TRANSPORT = 'mailjet';
const DAY_MS = 86_400_000;
const SPAN_MS = 30 * DAY_MS;
const CHUNK = 1_000_000;
const ADMIN_TOKEN = 'bench-dashboard-admin-token-0123456789';

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const seconds = (startedMs: number) => round((performance.now() - startedMs) / 1000, 1);
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

// Row k of the history, all from k: created_at (oldest first), status (seedOutbox's
// mix: 93% sent, 2% failed, 1% each of pending, retrying, cancelled, suppressed,
// expired), template (seedOutbox's spread), transport (a third mailjet), recipient
// (200,000 addresses), whether a sent row was retried once first (1 in 31), how long
// its try took (5 ms to 5 s, most under 100 ms), and an id: a UUIDv7 of created_at
// with k in its last bits, so the attempts' statement finds it without reading.
// $1, $2: k from, to (exclusive); $3: created_at of k = 0; $4: ms between rows;
// $5: the templates; $6: the rare one.
const MODEL = `
  from generate_series($1::bigint, $2::bigint - 1) g(k)
  cross join lateral (select
      $3::timestamptz + g.k * ($4::float8 * interval '1 millisecond') as created_at,
      case when g.k % 100 < 93 then 'sent' when g.k % 100 < 95 then 'failed' when g.k % 100 = 95 then 'pending'
           when g.k % 100 = 96 then 'retrying' when g.k % 100 = 97 then 'cancelled'
           when g.k % 100 = 98 then 'suppressed' else 'expired' end as status,
      case when g.k % 1000 = 7 then $6::text else ($5::text[])[1 + ((g.k / 100) % array_length($5::text[], 1))] end as template,
      case when g.k % 3 = 0 then 'mailjet' else 'smtp' end as transport,
      'user' || (g.k % 200000) || '@example.test' as recipient,
      g.k % 31 = 5 as retried,
      5 * power(2, 10 * power(((g.k * 7919) % 1000)::float8 / 1000, 2)) * interval '1 millisecond' as latency) m
  cross join lateral (select
      (lpad(to_hex(floor(extract(epoch from m.created_at) * 1000)::bigint), 12, '0') || '7000' || '8' || lpad(to_hex(g.k), 15, '0'))::uuid as id,
      m.created_at + interval '1 millisecond' + m.latency as first_done,
      case when m.status = 'sent' and m.retried then m.created_at + interval '1 minute' else m.created_at end as due,
      case when m.transport = 'smtp' then
             case (g.k / 3) % 3 when 0 then '550 5.1.1 <' || m.recipient || '>: no such user'
                                when 1 then '550 5.1.1 <' || m.recipient || '>: Recipient address rejected: User unknown in virtual mailbox table'
                                else '552 5.2.2 <' || m.recipient || '>: Mailbox full' end
           else case (g.k / 3) % 2 when 0 then 'Mailjet 400: "' || m.recipient || '" is not a valid email address (request ' || md5(g.k::text)::uuid || ')'
                                   else 'Mailjet 400: recipient ' || m.recipient || ' is blocked (request ' || md5(g.k::text)::uuid || ')' end
      end as failure,
      case when m.transport = 'smtp' then
             case (g.k / 3) % 2 when 0 then '421 4.7.0 Try again later, closing connection'
                                else '451 4.7.1 <' || m.recipient || '>: Greylisted, please try again in 300 seconds' end
           else case (g.k / 3) % 2 when 0 then 'Mailjet 429: rate limit exceeded (request ' || md5(g.k::text)::uuid || ')'
                                   else 'connect ETIMEDOUT 104.199.96.85:443' end
      end as deferral,
      case when m.transport = 'mailjet' and (g.k / 3) % 2 = 0 then 'throttled' else 'transient' end as deferral_class) t
  cross join lateral (select
      case when m.status = 'sent' and m.retried then t.due + interval '1 millisecond' + m.latency else t.first_done end as done) d`;

const INSERT_OUTBOX = `
  insert into mailroom.outbox (id, template, recipient, props, status, attempts, created_at, send_after, sent_at, updated_at, last_error, provider_message_id)
  select t.id, m.template, m.recipient, '{"token": "seeded-token-0123456789"}'::jsonb, m.status,
         case when m.status = 'sent' and m.retried then 2 when m.status in ('sent', 'failed', 'retrying', 'expired') then 1 else 0 end,
         m.created_at,
         case when m.status = 'retrying' then m.created_at + interval '5 minutes' else t.due end,
         case when m.status = 'sent' then d.done end,
         case when m.status in ('sent', 'failed', 'retrying', 'expired') then d.done else m.created_at end,
         case when m.status = 'failed' then t.failure when m.status in ('retrying', 'expired') then t.deferral end,
         case when m.status = 'sent' and m.transport = 'mailjet' then 'mj-' || g.k end
  ${MODEL}`;

// The tries: a retry first for a retried sent row and for retrying and expired rows;
// then the sent try, or the failed one (permanent).
const INSERT_ATTEMPTS = `
  insert into mailroom.delivery_attempt (outbox_id, attempt, transport, outcome, error_class, provider_message_id, response_code, response, error_message, started_at, finished_at)
  select t.id, a.attempt, m.transport, a.outcome, a.error_class, a.provider_message_id, a.response_code, a.response, a.error_message, a.started_at, a.finished_at
  ${MODEL}
  cross join lateral (
    select 1 as attempt, 'retry' as outcome, t.deferral_class as error_class, null::text as provider_message_id, null::int as response_code,
           null::text as response, t.deferral as error_message, m.created_at + interval '1 millisecond' as started_at, t.first_done as finished_at
     where (m.status = 'sent' and m.retried) or m.status in ('retrying', 'expired')
    union all
    select case when m.retried then 2 else 1 end, 'sent', null, case when m.transport = 'mailjet' then 'mj-' || g.k end, 250,
           '250 2.0.0 Ok: queued', null, t.due + interval '1 millisecond', d.done
     where m.status = 'sent'
    union all
    select 1, 'failed', 'permanent', null, case when m.transport = 'smtp' then 550 else 400 end, null, t.failure,
           m.created_at + interval '1 millisecond', t.first_done
     where m.status = 'failed'
  ) a`;

export interface SeedFigures {
  outboxRows: number;
  attemptRows: number;
  chunks: { rows: number; outboxSeconds: number; attemptSeconds: number; load: string }[];
  insertSeconds: number;
  vacuumAnalyzeSeconds: number;
}

/**
 * Seed `rows` outbox rows over the 30 days up to now (oldest first, in chunks of a
 * million) with their attempts, then VACUUM ANALYZE (this machine runs PostgreSQL
 * with autovacuum off; a vacuumed table is what production has). The rows created
 * while seeding ran are added at the end, so the history reaches the present.
 */
export async function seedHistory(pool: pg.Pool, rows: number, log = console.log): Promise<SeedFigures> {
  const started = performance.now();
  const stepMs = SPAN_MS / rows;
  const { rows: clock } = await pool.query<{ now: Date }>('select now() as now');
  const origin = new Date(clock[0]!.now.getTime() - SPAN_MS);
  const templates = templateNames.filter((name) => name !== RARE_TEMPLATE);
  const chunks: SeedFigures['chunks'] = [];
  const chunk = async (from: number, to: number) => {
    const params = [from, to, origin, stepMs, templates, RARE_TEMPLATE];
    const t0 = performance.now();
    await pool.query(INSERT_OUTBOX, params);
    const t1 = performance.now();
    await pool.query(INSERT_ATTEMPTS, params);
    const figures = { rows: to - from, outboxSeconds: round((t1 - t0) / 1000), attemptSeconds: round((performance.now() - t1) / 1000), load: load() };
    chunks.push(figures);
    log(`  seeded rows ${from}..${to - 1}: outbox ${figures.outboxSeconds} s, attempts ${figures.attemptSeconds} s (load ${figures.load})`);
  };
  for (let from = 0; from < rows; from += CHUNK) await chunk(from, Math.min(rows, from + CHUNK));
  // The rows the time spent seeding would have brought, at the same rate.
  const { rows: later } = await pool.query<{ now: Date }>('select now() as now');
  const upTo = Math.floor((later[0]!.now.getTime() - origin.getTime()) / stepMs);
  if (upTo > rows) await chunk(rows, upTo);
  const inserted = performance.now();
  await pool.query('vacuum (analyze) mailroom.outbox');
  await pool.query('vacuum (analyze) mailroom.delivery_attempt');
  await pool.query('analyze mailroom.template');
  const { rows: counts } = await pool.query<{ outbox: string; attempts: string }>(
    `select (select reltuples::bigint from pg_class where oid = 'mailroom.outbox'::regclass) as outbox,
            (select reltuples::bigint from pg_class where oid = 'mailroom.delivery_attempt'::regclass) as attempts`,
  );
  return {
    outboxRows: Math.max(rows, upTo),
    attemptRows: Number(counts[0]!.attempts),
    chunks,
    insertSeconds: round((inserted - started) / 1000),
    vacuumAnalyzeSeconds: round((performance.now() - inserted) / 1000),
  };
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Function Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

function walk(node: PlanNode, out: PlanNode[] = []): PlanNode[] {
  out.push(node);
  for (const child of node.Plans ?? []) walk(child, out);
  return out;
}

const BIG_TABLES = new Set(['outbox', 'delivery_attempt']);

export interface StatementPlan {
  case: string;
  statement: string;
  executionMs: number;
  /** Every node, e.g. "Index Only Scan using rollup_tries_pkey on rollup_tries (rows 1320)". */
  nodes: string[];
  indexes: string[];
  /** Rows the plan's scans of outbox and delivery_attempt returned (actual rows x loops). */
  bigTableRows: number;
  sharedHit: number;
  sharedRead: number;
  seqScans: string[];
  /** Time PostgreSQL spent compiling the statement (JIT), ms; 0: no JIT. */
  jitMs: number;
  /** Statements run inside it (a PL/pgSQL function, a SQL function not inlined), from auto_explain. */
  nested?: Omit<StatementPlan, 'case' | 'nested'>[];
}

interface Explained {
  Plan: PlanNode;
  'Execution Time'?: number;
  JIT?: { Timing?: { Total?: number } };
}

function summarisePlan(root: PlanNode, executionMs: number, jit?: Explained['JIT']) {
  const nodes = walk(root);
  return {
    executionMs: round(executionMs, 2),
    jitMs: round(jit?.Timing?.Total ?? 0, 1),
    nodes: nodes.map((n) =>
      [n['Node Type'], n['Index Name'] ? `using ${n['Index Name']}` : '', n['Relation Name'] ? `on ${n['Relation Name']}` : '', n['Function Name'] ? `of ${n['Function Name']}` : '', `(rows ${(n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1)})`]
        .filter(Boolean)
        .join(' '),
    ),
    indexes: [...new Set(nodes.flatMap((n) => (n['Index Name'] ? [n['Index Name']] : [])))],
    bigTableRows: nodes
      .filter((n) => BIG_TABLES.has(n['Relation Name'] ?? '') || /^(outbox|delivery_attempt)_/.test(n['Index Name'] ?? ''))
      .filter((n) => n['Node Type'] !== 'Bitmap Index Scan')
      .reduce((sum, n) => sum + (n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1), 0),
    sharedHit: root['Shared Hit Blocks'] ?? 0,
    sharedRead: root['Shared Read Blocks'] ?? 0,
    seqScans: nodes.filter((n) => n['Node Type'] === 'Seq Scan' && BIG_TABLES.has(n['Relation Name'] ?? '')).map((n) => n['Relation Name']!),
  };
}

/** What a statement of dashboard() reads, by its text. */
function statementName(text: string): string {
  if (text.includes('mailroom.roll_up(')) return 'rollUp';
  if (text.includes(' as first')) return 'clock';
  if (text.includes('rollup_latency')) return 'latency';
  if (text.includes('rollup_errors')) return 'errors';
  if (text.includes('rollup_backlog')) return 'backlog';
  if (text.includes('select distinct')) return 'choices';
  if (text.includes('group by x.template')) return 'byTemplate';
  if (text.includes('rollup_tries')) return 'tries';
  if (text.includes('unnest(')) return 'counts by status';
  if (text.includes('backlog_now(')) return 'due now';
  return text.replace(/\s+/g, ' ').slice(0, 40);
}

/** A Kysely on `pool` that records every statement it sends (text, parameters, ms). */
function recordingKysely(pool: pg.Pool) {
  const sent: { sql: string; parameters: readonly unknown[]; ms: number }[] = [];
  const kysely = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (event.level === 'query') sent.push({ sql: event.query.sql, parameters: event.query.parameters, ms: event.queryDurationMillis });
    },
  });
  return { kysely, sent };
}

/**
 * A client with auto_explain loaded (nested statements, analyzed, as notices), so
 * the statements inside a PL/pgSQL function have plans too. null: not allowed here
 * (LOAD of auto_explain needs a superuser).
 */
async function explainingClient(pool: pg.Pool) {
  const client = await pool.connect();
  const notices: string[] = [];
  client.on('notice', (notice) => notices.push(notice.message ?? ''));
  try {
    await client.query(`load 'auto_explain'`);
    for (const setting of [
      'auto_explain.log_min_duration = 0', 'auto_explain.log_analyze = on', 'auto_explain.log_buffers = on',
      'auto_explain.log_nested_statements = on', `auto_explain.log_format = 'json'`, `auto_explain.log_level = 'notice'`,
    ]) await client.query(`set ${setting}`);
    return { client, autoExplain: true, take: () => notices.splice(0) };
  } catch {
    return { client, autoExplain: false, take: () => notices.splice(0) };
  }
}

function nestedPlans(notices: string[]): NonNullable<StatementPlan['nested']> {
  return notices.flatMap((message) => {
    const json = message.indexOf('{');
    if (json < 0) return [];
    const entry = JSON.parse(message.slice(json)) as Explained & { 'Query Text': string };
    const text = entry['Query Text'].trim();
    if (/^explain/i.test(text)) return [];
    const ms = Number(/duration: ([\d.]+) ms/.exec(message)?.[1] ?? NaN);
    return [{ statement: text.replace(/\s+/g, ' ').slice(0, 90), ...summarisePlan(entry.Plan, ms, entry.JIT) }];
  });
}

/** EXPLAIN (ANALYZE, BUFFERS) each statement dashboard(filter) sends, with its parameters. */
async function explainDashboard(pool: pg.Pool, name: string, filter: DashboardFilter): Promise<StatementPlan[]> {
  const recording = recordingKysely(pool);
  await dashboard(recording.kysely, filter);
  const { client, autoExplain, take } = await explainingClient(pool);
  try {
    const plans: StatementPlan[] = [];
    for (const statement of recording.sent) {
      take();
      // Transaction control and SET LOCAL (dashboard() runs its statements in one
      // repeatable-read, read-only transaction with jit off): replayed as sent, not explained.
      if (!/^\s*(select|with)\b/i.test(statement.sql)) {
        await client.query(statement.sql, statement.parameters as unknown[]);
        continue;
      }
      const { rows } = await client.query<{ 'QUERY PLAN': [Explained] }>(
        `explain (analyze, buffers, format json) ${statement.sql}`,
        statement.parameters as unknown[],
      );
      const root = rows[0]!['QUERY PLAN'][0];
      const nested = autoExplain ? nestedPlans(take()) : [];
      plans.push({ case: name, statement: statementName(statement.sql), ...summarisePlan(root.Plan, root['Execution Time'] ?? NaN, root.JIT), ...(nested.length ? { nested } : {}) });
    }
    return plans;
  } finally {
    client.release(true);
  }
}

/** The plans inside one 6-hour span of the catch-up, in a transaction rolled back (the rollups are left as they were). */
async function explainCatchUpSpan(pool: pg.Pool) {
  const { client, autoExplain, take } = await explainingClient(pool);
  try {
    if (!autoExplain) return null;
    await client.query('begin');
    await client.query(`update mailroom.rollup_state set rolled_up_to = date_trunc('minute', now() - interval '2 minutes') - interval '6 hours'`);
    take();
    const started = performance.now();
    await client.query(`select mailroom.roll_up('6 hours')`);
    const ms = round(performance.now() - started, 1);
    const nested = nestedPlans(take()).filter((p) => !/^select mailroom\.roll_up/.test(p.statement));
    return { ms, nested };
  } finally {
    await client.query('rollback').catch(() => {});
    client.release(true);
  }
}

async function timeIt(times: number, run: () => Promise<unknown>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await run();
    ms.push(performance.now() - started);
  }
  return ms;
}

/** Sign in through POST /admin/login as a browser would; the session cookie. */
async function signIn(base: string): Promise<string> {
  const form = await fetch(`${base}/admin/login`);
  const nonce = form.headers.getSetCookie()[0]!.split(';')[0]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1];
  if (!csrf) throw new Error('no CSRF token on the sign-in form');
  const login = await fetch(`${base}/admin/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: nonce },
    body: new URLSearchParams({ _csrf: csrf, token: ADMIN_TOKEN, next: '/admin' }).toString(),
  });
  if (login.status !== 303) throw new Error(`sign-in answered ${login.status}`);
  const session = login.headers.getSetCookie().find((c) => c.startsWith('mailroom_admin='));
  if (!session) throw new Error('sign-in set no session cookie');
  return session.split(';')[0]!;
}

async function pageTimings(db: Db) {
  const server = buildServer({ config: productConfig, db, logger: createLogger({ level: 'silent' }), adminToken: ADMIN_TOKEN });
  const base = await server.listen({ port: 0, host: '127.0.0.1' });
  try {
    const cookie = await signIn(base);
    const figures: { page: string; medianMs: number; minMs: number; maxMs: number; bytes: number }[] = [];
    for (const path of ['/admin', '/admin?window=week']) {
      let bytes = 0;
      const get = async () => {
        const response = await fetch(`${base}${path}`, { headers: { cookie }, redirect: 'manual' });
        const body = await response.text();
        if (response.status !== 200 || !body.includes('Overview')) throw new Error(`GET ${path} answered ${response.status}`);
        bytes = Buffer.byteLength(body);
      };
      await get();
      const ms = await timeIt(5, get);
      figures.push({ page: `GET ${path}`, medianMs: round(median(ms)), minMs: round(Math.min(...ms)), maxMs: round(Math.max(...ms)), bytes });
    }
    return figures;
  } finally {
    await server.close();
  }
}

const CASES: [string, DashboardFilter][] = [
  ['hour', { window: 'hour' }],
  [`hour, template=${FILTER_TEMPLATE}`, { window: 'hour', template: FILTER_TEMPLATE }],
  [`hour, transport=${FILTER_TRANSPORT}`, { window: 'hour', transport: FILTER_TRANSPORT }],
  ['week', { window: 'week' }],
  [`week, template=${FILTER_TEMPLATE}`, { window: 'week', template: FILTER_TEMPLATE }],
  [`week, transport=${FILTER_TRANSPORT}`, { window: 'week', transport: FILTER_TRANSPORT }],
];

/** `npm run bench -- dashboard`: seed, catch up, time dashboard() and the page, EXPLAIN, and the old full count beside them. */
export async function benchDashboard(database: { url: string }, options: { rows: number }) {
  // Seeding and VACUUM outlast the default statement timeout of 60 s.
  const admin = connect(database.url, { max: 2, applicationName: 'mailroom-bench-dashboard-seed', statementTimeoutMs: 0, idleInTransactionTimeoutMs: 0 });
  const db = connect(database.url, { applicationName: 'mailroom-bench-dashboard' });
  const loads: Record<string, string> = {};
  try {
    const { rows: settings } = await admin.pool.query<{ version: string; autovacuum: string; shared_buffers: string; work_mem: string }>(
      `select version(), current_setting('autovacuum') as autovacuum, current_setting('shared_buffers') as shared_buffers, current_setting('work_mem') as work_mem`,
    );
    const server = settings[0]!;
    const commit = (() => {
      try {
        return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
      } catch {
        return 'unknown';
      }
    })();
    console.log(`commit ${commit}; dashboard.ts as imported when this run started`);
    console.log(`Admin overview at ${options.rows.toLocaleString('en')} outbox rows: ${server.version}; autovacuum ${server.autovacuum}, shared_buffers ${server.shared_buffers}, work_mem ${server.work_mem}`);
    const othersActive = async () =>
      Number((await admin.pool.query(`select count(*) from pg_stat_activity where state = 'active' and pid <> pg_backend_pid() and datname is distinct from current_database()`)).rows[0].count);

    loads.seedStart = load();
    const seedStarted = performance.now();
    const seed = await seedHistory(admin.pool, options.rows);
    loads.seedEnd = load();
    const seedSeconds = seconds(seedStarted);
    const { rows: sizes } = await admin.pool.query<{ outbox: string; attempts: string }>(
      `select pg_size_pretty(pg_total_relation_size('mailroom.outbox')) as outbox, pg_size_pretty(pg_total_relation_size('mailroom.delivery_attempt')) as attempts`,
    );
    console.log(
      `seeded ${seed.outboxRows.toLocaleString('en')} outbox rows and about ${seed.attemptRows.toLocaleString('en')} attempts in ${seedSeconds} s ` +
        `(inserts ${seed.insertSeconds} s, VACUUM ANALYZE ${seed.vacuumAnalyzeSeconds} s); outbox ${sizes[0]!.outbox}, attempts ${sizes[0]!.attempts} with indexes; load ${loads.seedStart} -> ${loads.seedEnd}`,
    );

    // The first catch-up, from empty rollups: at most 8 days back, 6 hours a call.
    const recording = recordingKysely(db.pool);
    loads.catchUpStart = load();
    const catchUpStarted = performance.now();
    await rollUpAll(recording.kysely);
    const catchUpSeconds = seconds(catchUpStarted);
    loads.catchUpEnd = load();
    const spans = recording.sent.map((s) => s.ms);
    const { rows: written } = await admin.pool.query(
      `select 'rollup_tries' as "table", grain, count(*)::int as rows from mailroom.rollup_tries group by grain
       union all select 'rollup_latency', grain, count(*)::int from mailroom.rollup_latency group by grain
       union all select 'rollup_errors', 'hour', count(*)::int from mailroom.rollup_errors
       union all select 'rollup_backlog', 'minute', count(*)::int from mailroom.rollup_backlog order by 1, 2`,
    );
    const { rows: stateRows } = await admin.pool.query(`select rolled_up_to, now() - rolled_up_to as lag from mailroom.rollup_state`);
    const { rows: countedRows } = await admin.pool.query(`select coalesce(sum(sent + failed + retried), 0)::bigint as tries from mailroom.rollup_tries where grain = 'hour'`);
    // What the catch-up inserted, updated and deleted (the statistics, flushed within a second or so).
    await new Promise((r) => setTimeout(r, 2_000));
    const { rows: churn } = await admin.pool.query(
      `select relname as "table", n_tup_ins::int as inserted, n_tup_upd::int as updated, n_tup_del::int as deleted, n_live_tup::int as live, n_dead_tup::int as dead
         from pg_stat_user_tables where schemaname = 'mailroom' and relname like 'rollup%' order by relname`,
    );
    const catchUp = {
      seconds: catchUpSeconds,
      calls: spans.length,
      callMs: { median: round(median(spans)), max: round(Math.max(...spans)) },
      triesCounted: Number(countedRows[0].tries),
      rowsWritten: written,
      rowsWrittenTotal: written.reduce((n: number, r: { rows: number }) => n + r.rows, 0),
      churn,
      rolledUpTo: stateRows[0]?.rolled_up_to,
      load: `${loads.catchUpStart} -> ${loads.catchUpEnd}`,
    };
    console.log(
      `\nFirst catch-up (rollUpAll from empty rollups): ${catchUp.seconds} s in ${catchUp.calls} calls of roll_up('6 hours') (median ${catchUp.callMs.median} ms, max ${catchUp.callMs.max} ms); ` +
        `${catchUp.triesCounted.toLocaleString('en')} tries counted, ${catchUp.rowsWrittenTotal.toLocaleString('en')} rollup rows left (minute rows older than 2 days are deleted as it goes); load ${catchUp.load}`,
    );
    console.table(written);
    console.table(churn);

    // Measured twice: as the catch-up leaves the rollup tables (it writes 8 days of
    // minute rows and deletes those past 2 days, and this server's autovacuum is off),
    // then after a VACUUM ANALYZE of them (what autovacuum would soon do).
    const measure = async (phase: string) => {
      // dashboard() as the page calls it: warm once, median of 5.
      const loadBefore = load();
      const othersActiveBackends = await othersActive();
      const timings: { case: string; medianMs: number; minMs: number; maxMs: number }[] = [];
      for (const [name, filter] of CASES) {
        await dashboard(db.kysely, filter);
        const ms = await timeIt(5, () => dashboard(db.kysely, filter));
        timings.push({ case: name, medianMs: round(median(ms)), minMs: round(Math.min(...ms)), maxMs: round(Math.max(...ms)) });
      }
      // Of which: the rollUp() it starts with, caught up (the backlog sample included).
      const rollUpMs = await timeIt(5, () => admin.pool.query(`select mailroom.roll_up('1 hour')`));
      const dashboardLoad = `${loadBefore} -> ${load()}`;
      console.log(`\n[${phase}] dashboard() (warm once, median of 5; ms; load ${dashboardLoad}, ${othersActiveBackends} other active backends on the server)`);
      console.table(timings);
      console.log(`  of which roll_up('1 hour') when caught up: median ${round(median(rollUpMs))} ms (${rollUpMs.map((m) => round(m)).join(', ')})`);

      const pageLoadBefore = load();
      const pages = await pageTimings(db);
      const pageLoad = `${pageLoadBefore} -> ${load()}`;
      console.log(`\n[${phase}] The page over HTTP, signed in (GET + body, warm once, median of 5; load ${pageLoad})`);
      console.table(pages);

      // EXPLAIN (ANALYZE, BUFFERS) of every statement, in every case.
      const plans: StatementPlan[] = [];
      for (const [name, filter] of CASES) plans.push(...(await explainDashboard(db.pool, name, filter)));
      console.log(`\n[${phase}] EXPLAIN (ANALYZE, BUFFERS) of each statement dashboard() sends (big-table rows: rows its scans of outbox and delivery_attempt returned)`);
      console.table(
        plans.map((p) => ({
          case: p.case,
          statement: p.statement,
          ms: p.executionMs,
          indexes: p.indexes.join(', '),
          'big-table rows': p.bigTableRows,
          'buffers hit/read': `${p.sharedHit}/${p.sharedRead}`,
          'JIT ms': p.jitMs,
          'seq scan': p.seqScans.length ? `YES: ${p.seqScans.join(', ')}` : 'no',
        })),
      );
      for (const p of plans.filter((x) => x.case === 'hour' || x.case === 'week')) {
        console.log(`  [${p.case}] ${p.statement}: ${p.nodes.join(' -> ')}`);
        for (const n of p.nested ?? []) console.log(`      inside: ${n.statement} (${n.executionMs} ms): ${n.nodes.join(' -> ')}`);
      }
      const span = await explainCatchUpSpan(db.pool);
      if (span) {
        console.log(`\n[${phase}] One 6-hour span of the catch-up, explained (auto_explain; rolled back): ${span.ms} ms`);
        for (const n of span.nested) console.log(`  ${n.statement} (${n.executionMs} ms; indexes ${n.indexes.join(', ') || 'none'}; seq scan ${n.seqScans.join(', ') || 'no'}): ${n.nodes.join(' -> ')}`);
      }
      const flagged = [
        ...plans.flatMap((p) => [p, ...(p.nested ?? []).map((n) => ({ ...n, case: p.case, statement: `${p.statement} / ${n.statement}` }))]),
        ...(span?.nested ?? []).map((n) => ({ ...n, case: 'catch-up span (6 hours)' })),
      ].filter((p) => p.seqScans.length > 0 || p.executionMs > 100);
      if (flagged.length) {
        console.log(`\n[${phase}] FLAGGED (seq scan on outbox/delivery_attempt, or over 100 ms):`);
        for (const p of flagged) console.log(`  [${p.case}] ${p.statement}: ${p.executionMs} ms (JIT ${p.jitMs} ms), ${p.nodes.join(' -> ')}`);
      } else console.log(`\n[${phase}] No statement (nor one inside roll_up) reads outbox or delivery_attempt by Seq Scan, none takes over 100 ms.`);
      return { dashboard: timings, dashboardLoad, othersActiveBackends, rollUpCaughtUpMs: round(median(rollUpMs)), pages, pageLoad, plans, catchUpSpan: span };
    };
    const afterCatchUp = await measure('after the catch-up');
    const vacuumStarted = performance.now();
    await admin.pool.query('vacuum (analyze) mailroom.rollup_tries, mailroom.rollup_latency, mailroom.rollup_errors, mailroom.rollup_backlog, mailroom.rollup_state');
    console.log(`\nVACUUM ANALYZE of the rollup tables (rollup_state included): ${seconds(vacuumStarted)} s`);
    const afterVacuum = await measure('rollups vacuumed');
    // For the diagnosis only: the same calls on connections with JIT off.
    const noJitPool = new pg.Pool({ connectionString: database.url, max: 10, options: '-c jit=off', application_name: 'mailroom-bench-dashboard-nojit' });
    const noJit = new Kysely<Database>({ dialect: new PostgresDialect({ pool: noJitPool }) });
    const noJitTimings: { case: string; medianMs: number }[] = [];
    try {
      for (const [name, filter] of CASES) {
        await dashboard(noJit, filter);
        noJitTimings.push({ case: name, medianMs: round(median(await timeIt(5, () => dashboard(noJit, filter)))) });
      }
    } finally {
      await noJit.destroy();
    }
    const jitOff = { dashboard: noJitTimings, load: load() };
    console.log('\ndashboard() median ms: after the catch-up / rollups vacuumed and analyzed / the same with jit = off on the connections');
    console.table(
      CASES.map(([name], i) => ({
        case: name,
        'after catch-up': afterCatchUp.dashboard[i]!.medianMs,
        'rollups vacuumed': afterVacuum.dashboard[i]!.medianMs,
        'jit off': noJitTimings[i]!.medianMs,
      })),
    );

    // The old overview's most expensive query, at the same size.
    loads.oldStart = load();
    const oldSql = 'select status, count(*) from mailroom.outbox group by status';
    const oldMs = await timeIt(3, () => admin.pool.query(oldSql));
    const { rows: oldPlanRows } = await admin.pool.query<{ 'QUERY PLAN': [Explained] }>(`explain (analyze, buffers, format json) ${oldSql}`);
    const oldPlan = summarisePlan(oldPlanRows[0]!['QUERY PLAN'][0].Plan, oldPlanRows[0]!['QUERY PLAN'][0]['Execution Time'] ?? NaN, oldPlanRows[0]!['QUERY PLAN'][0].JIT);
    loads.oldEnd = load();
    const old = { sql: oldSql, ms: oldMs.map((m) => round(m)), medianMs: round(median(oldMs)), plan: oldPlan.nodes, buffers: `${oldPlan.sharedHit}/${oldPlan.sharedRead}` };
    console.log(`\nThe old overview's full count (${oldSql}): median of 3 ${old.medianMs} ms (${old.ms.join(', ')}); ${old.plan.join(' -> ')}; load ${loads.oldStart} -> ${loads.oldEnd}`);

    return { rows: options.rows, commit, server: server.version, autovacuum: server.autovacuum, seed: { ...seed, seconds: seedSeconds, sizes: sizes[0] }, catchUp, afterCatchUp, afterVacuum, jitOff, oldFullCount: old, loads };
  } finally {
    await db.close();
    await admin.close();
  }
}
