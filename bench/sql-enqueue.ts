// Issue 13: what the SQL enqueue costs with the props checks migration 0010
// generated (mailroom.enqueue walks the template's props schema with
// mailroom.check_props), beside the TypeScript enqueue, the same function as it was
// before those checks, and a bare INSERT. Each variant is the same application
// transaction (insert a token, then the variant, commit) at 1 and 16 clients; the
// variants take turns in rounds (forward, then backward, ...) so that drift hits all
// of them, and each is compared with the token-only transaction of the same round.
//
// Earlier versions of mailroom.enqueue are built at run time from the migrations'
// own text, renamed into a bench schema, so nothing is copied by hand:
// bench_before.enqueue is 0009's (required keys and JSON types only, from
// mailroom.template.required_props and prop_types, which `mailroom migrate` still
// fills); bench_0010.enqueue is 0010's (the schema walk, props stored as given), so
// that what a later migration adds to today's function (0012: shape_props) shows on
// its own. Both call today's helpers (mailroom.is_valid_address of 0011,
// mailroom.check_props), as today's function does.
import { readdir, readFile } from 'node:fs/promises';
import pg from 'pg';
import { enqueueEmail } from '../test/support/product.ts';
import type { BenchDatabase } from './support/database.ts';
import { clearRecentRows } from './support/outbox.ts';
import { round, summarise } from './support/stats.ts';

export const SQL_ENQUEUE_VARIANTS = [
  'token only',
  'token + narrow INSERT',
  'token + TypeScript enqueue',
  'token + mailroom.enqueue',
  'token + 0010 enqueue',
  'token + pre-0010 enqueue',
] as const;
export type SqlEnqueueVariant = (typeof SQL_ENQUEUE_VARIANTS)[number];

export interface SqlEnqueueFigures {
  clients: number;
  variant: SqlEnqueueVariant;
  transactions: number;
  perSecond: number;
  p50Ms: number;
  p95Ms: number;
  /** tx/s over the token-only tx/s of the same round: median of the rounds, and their range. */
  ratio: number;
  ratioRange: string;
  /** p50 over the token-only p50 (all rounds pooled), and the range of the rounds' own differences. */
  marginalP50Ms: number;
  marginalP50RangeMs: string;
}

/** PostgreSQL's own time per call (track_functions = 'pl', one client, outside the rounds). */
export interface SqlEnqueueServerTime {
  function: string;
  calls: number;
  totalMsPerCall: number;
  selfMsPerCall: number;
}

export interface SqlEnqueueResult {
  /** The last migration applied that (re)defines mailroom.enqueue: what "today's" is. */
  enqueueMigration: string;
  template: string;
  props: Record<string, unknown>;
  figures: SqlEnqueueFigures[];
  serverTime: SqlEnqueueServerTime[] | string;
}

const TEMPLATE = 'verify-email';
// The earlier functions: which migration's text, under which schema.
const REBUILT = [
  { schema: 'bench_before', migration: '0009_sql_producers_traceparent_fan_out.sql' },
  { schema: 'bench_0010', migration: '0010_props_schema_checked_in_sql.sql' },
] as const;

const TOKEN = `insert into bench_token (user_id, token_hash, expires_at) values ($1::bigint, md5($1::bigint::text), now() + interval '1 day') returning id`;
const NARROW = `insert into bench_narrow (template, recipient, props) values ($1, $2, $3::jsonb)`;
const SQL_TODAY = `select mailroom.enqueue($1, $2, $3::jsonb, $4)`;
const SQL_0010 = `select bench_0010.enqueue($1, $2, $3::jsonb, $4)`;
const SQL_BEFORE = `select bench_before.enqueue($1, $2, $3::jsonb, $4)`;

// Keys of one length for every variant that writes the outbox (they share its unique index).
const KEY_PREFIX: Partial<Record<SqlEnqueueVariant, string>> = {
  'token + TypeScript enqueue': 'verify:ts:',
  'token + mailroom.enqueue': 'verify:sq:',
  'token + 0010 enqueue': 'verify:10:',
  'token + pre-0010 enqueue': 'verify:pr:',
};

const propsFor = (i: number) => ({ name: 'Ada', token: `bench-token-${String(i).padStart(12, '0')}` });

async function step(client: pg.PoolClient, variant: SqlEnqueueVariant, i: number, tokenId: string): Promise<void> {
  const to = `user${i}@example.test`;
  const props = propsFor(i);
  const key = `${KEY_PREFIX[variant]}${tokenId}`;
  switch (variant) {
    case 'token only':
      return;
    case 'token + narrow INSERT':
      await client.query(NARROW, [TEMPLATE, to, JSON.stringify(props)]);
      return;
    case 'token + TypeScript enqueue':
      await enqueueEmail(client, { template: TEMPLATE, to, props, idempotencyKey: key });
      return;
    case 'token + mailroom.enqueue':
      await client.query(SQL_TODAY, [TEMPLATE, to, JSON.stringify(props), key]);
      return;
    case 'token + 0010 enqueue':
      await client.query(SQL_0010, [TEMPLATE, to, JSON.stringify(props), key]);
      return;
    case 'token + pre-0010 enqueue':
      await client.query(SQL_BEFORE, [TEMPLATE, to, JSON.stringify(props), key]);
      return;
  }
}

interface Run {
  latencies: number[];
  seconds: number;
}

/** Token numbers, and the transactions each variant committed (to check the rows they wrote). */
interface Counter {
  n: number;
  committed: Map<SqlEnqueueVariant, number>;
}

async function runVariant(pool: pg.Pool, clients: number, variant: SqlEnqueueVariant, seconds: number, counter: Counter): Promise<Run> {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const client = await pool.connect();
      try {
        while (performance.now() < deadline) {
          const i = counter.n++;
          const t0 = performance.now();
          await client.query('begin');
          const { rows } = await client.query<{ id: string }>(TOKEN, [i]);
          await step(client, variant, i, rows[0]!.id);
          await client.query('commit');
          latencies.push(performance.now() - t0);
          counter.committed.set(variant, (counter.committed.get(variant) ?? 0) + 1);
        }
      } catch (error) {
        await client.query('rollback').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000 };
}

/** mailroom.enqueue as `migration` created it, renamed `<schema>.enqueue` (the body refers to itself as `enqueue.`). */
async function rebuiltFunction(schema: string, migration: string): Promise<string> {
  const file = new URL(`../migrations/${migration}`, import.meta.url);
  const sql = await readFile(file, 'utf8');
  const matches = [...sql.matchAll(/^create (?:or replace )?function mailroom\.enqueue\([\s\S]*?^\$\$;$/gm)];
  if (matches.length !== 1) throw new Error(`bench sql-enqueue: expected one "create function mailroom.enqueue(" in ${file.pathname}, found ${matches.length}`);
  return matches[0]![0].replace(/^create (?:or replace )?function mailroom\.enqueue\(/, `create function ${schema}.enqueue(`);
}

async function setUp(pool: pg.Pool): Promise<void> {
  await pool.query(
    'create table if not exists bench_token (id bigserial primary key, user_id bigint not null, token_hash text not null, expires_at timestamptz not null)',
  );
  // The floor for any second statement: three columns, no index, no constraint.
  await pool.query('create table if not exists bench_narrow (template text not null, recipient text not null, props jsonb not null)');
  for (const { schema, migration } of REBUILT) {
    await pool.query(`drop schema if exists ${schema} cascade`);
    await pool.query(`create schema ${schema}`);
    await pool.query(await rebuiltFunction(schema, migration));
  }
  // The functions differ as expected: a token too short for the schema's pattern is
  // refused by today's function and 0010's, accepted by the pre-0010 one (nothing kept).
  const client = await pool.connect();
  try {
    const short = JSON.stringify({ name: 'Ada', token: 'short' });
    const refuses = async (text: string) => {
      await client.query('savepoint s');
      try {
        await client.query(text, [TEMPLATE, 'check@example.test', short, `bench-check-${text.length}`]);
        return false;
      } catch (error) {
        if (!/token/.test((error as Error).message)) throw error;
        return true;
      } finally {
        await client.query('rollback to savepoint s');
      }
    };
    await client.query('begin');
    const refused = [await refuses(SQL_TODAY), await refuses(SQL_0010), await refuses(SQL_BEFORE)];
    await client.query('rollback');
    if (refused.join() !== 'true,true,false') {
      throw new Error(`bench sql-enqueue: a 5-character token refused by today's, 0010's, pre-0010 function: ${refused.join(', ')} (expected true, true, false)`);
    }
  } finally {
    client.release();
  }
}

function order(roundIndex: number): readonly SqlEnqueueVariant[] {
  return roundIndex % 2 === 0 ? SQL_ENQUEUE_VARIANTS : [...SQL_ENQUEUE_VARIANTS].reverse();
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const range = (values: number[], digits: number) => `${Math.min(...values).toFixed(digits)}..${Math.max(...values).toFixed(digits)}`;

async function measureClients(pool: pg.Pool, clients: number, options: { seconds: number; rounds: number }, counter: Counter): Promise<SqlEnqueueFigures[]> {
  // Warm-up: connections, plans (PL/pgSQL caches its own per connection), zod.
  for (const variant of SQL_ENQUEUE_VARIANTS) await runVariant(pool, clients, variant, 1, counter);
  const runs = new Map<SqlEnqueueVariant, Run[]>(SQL_ENQUEUE_VARIANTS.map((v) => [v, []]));
  for (let r = 0; r < options.rounds; r++) {
    for (const variant of order(r)) runs.get(variant)!.push(await runVariant(pool, clients, variant, options.seconds, counter));
  }
  const rate = (run: Run) => run.latencies.length / run.seconds;
  const p50 = (run: Run) => summarise(run.latencies).p50;
  const base = runs.get('token only')!;
  const basePooled = summarise(base.flatMap((run) => run.latencies));
  return SQL_ENQUEUE_VARIANTS.map((variant) => {
    const own = runs.get(variant)!;
    const pooled = summarise(own.flatMap((run) => run.latencies));
    const seconds = own.reduce((sum, run) => sum + run.seconds, 0);
    const ratios = own.map((run, r) => rate(run) / rate(base[r]!));
    const marginals = own.map((run, r) => p50(run) - p50(base[r]!));
    return {
      clients,
      variant,
      transactions: pooled.n,
      perSecond: round(pooled.n / seconds, 1),
      p50Ms: round(pooled.p50),
      p95Ms: round(pooled.p95),
      ratio: round(median(ratios), 2),
      ratioRange: range(ratios, 2),
      marginalP50Ms: round(pooled.p50 - basePooled.p50),
      marginalP50RangeMs: range(marginals, 3),
    };
  });
}

/** Rows written must match the transactions committed, per variant (warm-up included). */
async function checkRows(pool: pg.Pool, counter: Counter): Promise<void> {
  const { rows } = await pool.query<{ prefix: string; n: number }>(
    `select substr(idempotency_key, 1, 10) as prefix, count(*)::int as n from mailroom.outbox
      where template = $1 and idempotency_key like 'verify:__:%' group by 1
     union all
     select 'narrow', count(*)::int from bench_narrow`,
    [TEMPLATE],
  );
  const found = new Map(rows.map((row) => [row.prefix, row.n]));
  for (const variant of SQL_ENQUEUE_VARIANTS) {
    const where = variant === 'token + narrow INSERT' ? 'narrow' : KEY_PREFIX[variant];
    if (!where) continue;
    const n = counter.committed.get(variant) ?? 0;
    if (n === 0 || found.get(where) !== n) throw new Error(`bench sql-enqueue: "${variant}" committed ${n} transactions but wrote ${found.get(where) ?? 0} rows`);
  }
  counter.committed.clear();
}

/**
 * PostgreSQL's time inside each SQL function, per call, from pg_stat_user_functions:
 * one client, the three SQL variants interleaved transaction by transaction. The
 * helpers are counted per call of the enqueue functions that call them.
 */
async function serverTimePerCall(pool: pg.Pool, calls: number, counter: Counter): Promise<SqlEnqueueServerTime[] | string> {
  const client = await pool.connect();
  try {
    try {
      await client.query(`set track_functions = 'pl'`);
    } catch (error) {
      return `skipped: ${(error as Error).message}`;
    }
    const read = async () => {
      // Statistics reach the shared view when the backend goes idle; force it.
      await client.query('select pg_stat_force_next_flush()');
      await client.query('select pg_stat_clear_snapshot()');
      const { rows } = await client.query<{ name: string; calls: number; total: number; self: number }>(
        `select schemaname || '.' || funcname as name, sum(calls)::int as calls, sum(total_time)::float8 as total, sum(self_time)::float8 as self
           from pg_stat_user_functions where schemaname in ('mailroom', 'bench_before', 'bench_0010') group by 1`,
      );
      return new Map(rows.map((row) => [row.name, row]));
    };
    const before = await read();
    const variants = ['token + mailroom.enqueue', 'token + 0010 enqueue', 'token + pre-0010 enqueue'] as const;
    for (let c = 0; c < calls; c++) {
      for (const variant of variants) {
        const i = counter.n++;
        await client.query('begin');
        const { rows } = await client.query<{ id: string }>(TOKEN, [i]);
        await step(client, variant, i, rows[0]!.id);
        await client.query('commit');
      }
    }
    const after = await read();
    const delta = (name: string, key: 'calls' | 'total' | 'self') => (after.get(name)?.[key] ?? 0) - (before.get(name)?.[key] ?? 0);
    const per = (name: string, label: string, perCalls: number): SqlEnqueueServerTime => ({
      function: label,
      calls: delta(name, 'calls'),
      totalMsPerCall: round(delta(name, 'total') / perCalls, 4),
      selfMsPerCall: round(delta(name, 'self') / perCalls, 4),
    });
    for (const name of ['mailroom.enqueue', 'bench_0010.enqueue', 'bench_before.enqueue']) {
      if (delta(name, 'calls') !== calls) return `skipped: the statistics counted ${delta(name, 'calls')} calls of ${name}, not ${calls}`;
    }
    const figures = [
      per('mailroom.enqueue', 'mailroom.enqueue (today)', calls),
      per('bench_0010.enqueue', 'bench_0010.enqueue (as 0010 made it)', calls),
      per('bench_before.enqueue', 'bench_before.enqueue (as 0009 made it)', calls),
      // Recursive: one call per node of the props, counted per enqueue call.
      per('mailroom.check_props', 'mailroom.check_props, per call of today\'s or 0010\'s enqueue', 2 * calls),
    ];
    if (after.has('mailroom.shape_props')) figures.push(per('mailroom.shape_props', 'mailroom.shape_props, per call of today\'s enqueue', calls));
    return figures;
  } finally {
    await client.query('reset track_functions').catch(() => {});
    client.release();
  }
}

/** The last migration applied to the bench database that (re)defines mailroom.enqueue: what "today's" is. */
async function enqueueMigration(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query<{ name: string }>('select name from mailroom.kysely_migration');
  const applied = new Set(rows.map((row) => row.name));
  const dir = new URL('../migrations/', import.meta.url);
  const defining: string[] = [];
  for (const file of (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort()) {
    if (applied.has(file.replace(/\.sql$/, '')) && /^create (?:or replace )?function mailroom\.enqueue\(/m.test(await readFile(new URL(file, dir), 'utf8'))) defining.push(file);
  }
  return defining.at(-1)?.replace(/\.sql$/, '') ?? 'unknown';
}

export async function benchSqlEnqueue(database: BenchDatabase, options: { seconds: number; rounds: number; serverCalls?: number }): Promise<SqlEnqueueResult> {
  const pool = new pg.Pool({ connectionString: database.url, max: 16 });
  const counter: Counter = { n: 0, committed: new Map() };
  const figures: SqlEnqueueFigures[] = [];
  let serverTime: SqlEnqueueServerTime[] | string;
  let latest: string;
  try {
    latest = await enqueueMigration(pool);
    await setUp(pool);
    for (const clients of [1, 16]) {
      figures.push(...(await measureClients(pool, clients, options, counter)));
      await checkRows(pool, counter);
      // Keep the tables from growing into the next measurement.
      await pool.query('truncate bench_token, bench_narrow');
      await clearRecentRows(pool);
    }
    serverTime = await serverTimePerCall(pool, options.serverCalls ?? 2000, counter);
  } finally {
    await pool.end();
  }
  return { enqueueMigration: latest, template: TEMPLATE, props: propsFor(0), figures, serverTime };
}
