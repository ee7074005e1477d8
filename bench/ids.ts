// Random (v4) against time-ordered (v7) outbox ids, measured in one run on the
// same database: the enqueue's INSERT with the table's default id (mailroom.uuid_v7())
// and with gen_random_uuid() given, in alternating rounds, on an outbox that already
// holds a history. Reports, per insert, the WAL it wrote (the full-page images after
// each checkpoint are what random leaf pages cost) and its time.
// Run: node bench/ids.ts [history rows, default 300000] (BENCH_DATABASE_URL: a
// migrated database; default the machine's postgres://postgres@127.0.0.1:5432/mailroom_bench_ids).
import pg from 'pg';

const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/mailroom_bench_ids';
const history = Number(process.argv[2] ?? 300_000);
const perRound = 5_000;
const rounds = 3;

const pool = new pg.Pool({ connectionString: url, max: 1 });
const client = await pool.connect();
const one = async <T>(text: string, values: unknown[] = []) => (await client.query(text, values)).rows[0] as T;

await client.query(`truncate mailroom.outbox cascade`);
// The history: rows whose ids are random (as every id was before migration 0018).
await client.query(
  `insert into mailroom.outbox (id, template, recipient, props, status, sent_at, created_at)
   select gen_random_uuid(), 'account-confirm', 'h' || i || '@example.test', '{"token":"history-token-0123456789"}', 'sent', now(), now() - interval '1 day'
     from generate_series(1, $1) i`,
  [history],
);
await client.query('vacuum analyze mailroom.outbox');

const INSERT = (explicitId: boolean) => `
  insert into mailroom.outbox (${explicitId ? 'id, ' : ''}template, recipient, props, idempotency_key)
  values (${explicitId ? 'gen_random_uuid(), ' : ''}'account-confirm', $1, '{"token":"bench-token-0123456789"}', $2)`;

interface Figures { walBytes: number; ms: number }
async function round(explicitId: boolean, n: number): Promise<Figures> {
  await client.query('checkpoint');
  const start = await one<{ lsn: string }>('select pg_current_wal_insert_lsn()::text as lsn');
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const key = `${explicitId ? 'v4' : 'v7'}-${Date.now()}-${i}-${Math.random()}`;
    await client.query({ name: explicitId ? 'ins-v4' : 'ins-v7', text: INSERT(explicitId), values: [`b${i}@example.test`, key] });
  }
  const ms = performance.now() - started;
  const end = await one<{ bytes: string }>(`select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::text as bytes`, [start.lsn]);
  return { walBytes: Number(end.bytes) / n, ms: ms / n };
}

const results: Record<'v4' | 'v7', Figures[]> = { v4: [], v7: [] };
for (let r = 0; r < rounds; r++) {
  for (const kind of r % 2 === 0 ? (['v4', 'v7'] as const) : (['v7', 'v4'] as const)) {
    results[kind].push(await round(kind === 'v4', perRound));
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const range = (xs: number[], digits: number) => `${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)}`;
const { rows: [server] } = await client.query<{ server_version: string }>('show server_version');
console.log(`outbox ids, ${history.toLocaleString()} history rows, ${rounds} rounds x ${perRound.toLocaleString()} inserts each, one connection, a checkpoint before each round (PostgreSQL ${server!.server_version})`);
console.log('| id | WAL per insert, bytes (median, range) | time per insert, ms (median, range) |');
console.log('|---|---|---|');
for (const kind of ['v4', 'v7'] as const) {
  const wal = results[kind].map((f) => f.walBytes);
  const ms = results[kind].map((f) => f.ms);
  console.log(`| ${kind === 'v4' ? 'random (gen_random_uuid)' : 'time-ordered (mailroom.uuid_v7)'} | ${median(wal).toFixed(0)} (${range(wal, 0)}) | ${median(ms).toFixed(3)} (${range(ms, 3)}) |`);
}
client.release();
await pool.end();
