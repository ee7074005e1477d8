// Two deploys (or two replicas) run `mailroom migrate` at the same moment against a
// database nobody has migrated yet. Each round starts three real CLI processes at
// once on a fresh, EMPTY database: every one exits 0, exactly one of them applies
// mailroom's migrations and the others find nothing to do, and the schema ends up
// exactly like the test run's template (which one process migrated alone): same
// tables, columns, indexes, functions, template catalogue, pg-boss and its queue.
//
// Left to themselves the processes rarely overlap (each spends a second or more
// loading before its first statement), so most rounds line them up: the test
// itself creates the schema in a transaction it keeps open, waits until all three
// processes are blocked behind it, and rolls back, so that they all go at once.
// Without a lock two of them then fail on pg_namespace's unique index.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createTestDatabase, dropDatabase, withPg, type TestDatabase } from './support/database.ts';
import { templateNames } from './support/mailroom.ts';
import { PRODUCT_CONFIG_FILE, runCli } from './support/worker.ts';

const ROUNDS = 5;
const AT_ONCE = 3;
const MIGRATIONS = readdirSync(fileURLToPath(new URL('../migrations/', import.meta.url)))
  .filter((f) => f.endsWith('.sql'))
  .map((f) => f.replace(/\.sql$/, ''))
  .sort();

/** What "the schema is complete" means: every object of mailroom's and pg-boss's schemas, and their rows that matter. */
async function schemaShape(client: pg.Client) {
  const q = async (text: string) => (await client.query(text)).rows.map((r) => Object.values(r).join(' '));
  return {
    columns: await q(`select table_schema, table_name, column_name, data_type, is_nullable from information_schema.columns
                      where table_schema in ('mailroom', 'pgboss') order by 1, 2, 3`),
    indexes: await q(`select schemaname, tablename, indexname from pg_indexes where schemaname in ('mailroom', 'pgboss') order by 1, 2, 3`),
    functions: await q(`select n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) from pg_proc p
                        join pg_namespace n on n.oid = p.pronamespace where n.nspname in ('mailroom', 'pgboss') order by 1, 2, 3`),
    migrations: await q(`select name from mailroom.kysely_migration order by name`),
    // The CLI runs on the library's fixture config (the template also holds the product's).
    templates: await q(`select name, required_props::text, priority, max_attempts from mailroom.template
                        where name in (${templateNames.map((n) => `'${n}'`).join(', ')}) order by name`),
    queues: await q(`select name, retry_limit from pgboss.queue order by name`),
    bossVersion: await q(`select version from pgboss.version`),
  };
}

let reference: TestDatabase;
let expected: Awaited<ReturnType<typeof schemaShape>>;
const created: string[] = [];

beforeAll(async () => {
  // A clone of the run's template: what one `migrate` on its own produces.
  reference = await createTestDatabase();
  expected = await withPg(reference.url, schemaShape);
});

afterAll(async () => {
  await reference?.drop();
  await withPg(inject('adminDatabaseUrl'), async (admin) => {
    for (const name of created) await dropDatabase(admin, name);
  });
});

async function emptyDatabase(label: string): Promise<string> {
  const adminUrl = inject('adminDatabaseUrl');
  const name = `mailroom_migrate_race_${process.pid}_${label}`;
  await withPg(adminUrl, (admin) => admin.query(`create database ${name}`));
  created.push(name);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

interface Round {
  /** Hold the runs behind a barrier on this schema and release them together; none: let them run freely. */
  barrier?: 'mailroom' | 'app';
  /** The config file the CLI loads (default: the library's fixture config, which has no app migrations). */
  configFile?: string;
}

/**
 * `AT_ONCE` migrate processes at once. With a barrier the test creates that schema
 * in a transaction it keeps open, waits until every process is held up (blocked on
 * a lock behind the barrier, or asking in vain for the migration lock that another
 * process holds) and rolls back. Returns each run and, for a barrier, what each
 * session was waiting on.
 */
async function migrateAtOnce(url: string, { barrier, configFile }: Round) {
  const env = { DATABASE_URL: url, ...(configFile ? { MAILROOM_CONFIG: configFile } : {}) };
  const start = () => Array.from({ length: AT_ONCE }, () => runCli(['migrate'], env));
  if (!barrier) return { runs: await Promise.all(start()), waits: [] };
  return withPg(url, async (holder) => {
    await holder.query('begin');
    await holder.query(`create schema ${barrier}`);
    const runs = start();
    // Watched from another session: inside a transaction pg_stat_activity is a snapshot.
    const waits = await withPg(url, async (watcher) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const { rows } = await watcher.query<{ waiting: string }>(
          `select case when wait_event_type = 'Lock' then wait_event else 'the migration lock' end as waiting
             from pg_stat_activity
            where datname = current_database() and application_name like 'mailroom-%migrate'
              and (wait_event_type = 'Lock' or (state = 'idle' and query like '%pg_try_advisory_lock%'))`,
        );
        if (rows.length >= AT_ONCE) return rows.map((r) => r.waiting).sort();
        if (Date.now() > deadline) throw new Error(`only ${rows.length} of ${AT_ONCE} migrate processes reached the barrier`);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    await holder.query('rollback');
    return { runs: await Promise.all(runs), waits };
  });
}

function expectOneAppliedOthersUpToDate(runs: Array<{ code: number | null; output: string }>, appliedText: string, label: string) {
  const report = runs.map((r, i) => `--- process ${i + 1} of ${label}: exit ${r.code}\n${r.output}`).join('\n');
  expect(runs.map((r) => r.code), report).toEqual(Array(AT_ONCE).fill(0));
  const applied = runs.filter((r) => r.output.includes('applied: '));
  const upToDate = runs.filter((r) => r.output.includes('schema is up to date'));
  expect(applied.length, report).toBe(1);
  expect(upToDate.length, report).toBe(AT_ONCE - 1);
  expect(applied[0]!.output.trim(), report).toBe(`applied: ${appliedText}`);
}

it.each([
  ...Array.from({ length: ROUNDS }, (_, i) => ({ round: i + 1, barrier: 'mailroom' as const })),
  ...Array.from({ length: 2 }, (_, i) => ({ round: ROUNDS + i + 1, barrier: undefined })),
])(`round $round (barrier: $barrier): ${AT_ONCE} migrate processes at once on an empty database all succeed, one applies, the others find nothing to do`, async ({ round, barrier }) => {
  expect(expected.migrations).toEqual(MIGRATIONS);
  const url = await emptyDatabase(String(round));
  const { runs, waits } = await migrateAtOnce(url, { barrier });

  expectOneAppliedOthersUpToDate(runs, MIGRATIONS.join(', '), `round ${round}`);
  // Lined up, one process got the migration lock and waited at the barrier; the others waited for that lock.
  if (barrier) expect(waits).toEqual([...Array(AT_ONCE - 1).fill('the migration lock'), 'transactionid']);
  expect(await withPg(url, schemaShape)).toEqual(expected);
});

// The product's config adds its own migrations (schema `app`), run by the same
// `mailroom migrate`: they must take turns too, so the lock is held across them.
it(`the product's own migrations: ${AT_ONCE} migrate processes lined up on its schema all succeed, one applies`, async () => {
  const appMigrations = readdirSync(fileURLToPath(new URL('../app/migrations/', import.meta.url)))
    .filter((f) => f.endsWith('.sql'))
    .map((f) => f.replace(/\.sql$/, ''))
    .sort();
  const url = await emptyDatabase('product');
  const { runs } = await migrateAtOnce(url, { barrier: 'app', configFile: PRODUCT_CONFIG_FILE });

  expectOneAppliedOthersUpToDate(runs, [...MIGRATIONS, ...appMigrations].join(', '), 'the product round');
  const recorded = await withPg(url, async (c) => (await c.query('select name from app.kysely_migration order by name')).rows.map((r) => r.name));
  expect(recorded).toEqual(appMigrations);
});
