// A connection the server ends while a query runs on it (a restart, a failover,
// pg_terminate_backend) fails that query, and nothing else: the process lives on
// and the pool hands out fresh connections. pg-pool listens for errors only on idle
// clients, so a checked-out client's 'error' event must be heard by someone.
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, type Db } from '../src/db/connect.ts';
import { createTestDatabase, withPg, type TestDatabase } from './support/database.ts';
import { waitUntil } from './support/worker.ts';

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  db = connect(database.url, { max: 2, applicationName: 'mailroom-lost-mid-query' });
});
afterAll(async () => {
  await db?.close();
  await database?.drop();
});

const terminate = () =>
  withPg(database.url, (admin) =>
    admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'mailroom-lost-mid-query' and query like '%pg_sleep%'`),
  );
const sleeping = () =>
  withPg(database.url, async (admin) =>
    (await admin.query(`select count(*)::int as n from pg_stat_activity where application_name = 'mailroom-lost-mid-query' and query like '%pg_sleep%' and state = 'active'`)).rows[0].n as number,
  );

it('a Kysely query whose connection is terminated fails with 57P01; the pool goes on', async () => {
  const running = sql`select pg_sleep(30)`.execute(db.kysely).catch((error: { code?: string }) => error);
  await waitUntil(sleeping, (n) => n === 1, 10_000, 'the query running');
  await terminate();
  expect(await running).toMatchObject({ code: '57P01' });
  // The broken client may go back to the pool before its socket has closed: at most
  // the next query meets it, then the pool has dropped it.
  const next = () => sql`select 1 as one`.execute(db.kysely).then((r) => r.rows, () => 'failed');
  expect(await next().then((first) => (first === 'failed' ? next() : first))).toEqual([{ one: 1 }]);
});

it('so does a query on a client taken from the pool by hand (released with its error, as the relay does)', async () => {
  const client = await db.pool.connect();
  let lost: Error | undefined;
  try {
    const running = client.query('select pg_sleep(30)').catch((error: Error & { code?: string }) => (lost = error));
    await waitUntil(sleeping, (n) => n === 1, 10_000, 'the query running');
    await terminate();
    expect(await running).toMatchObject({ code: '57P01' });
  } finally {
    client.release(lost);
  }
  expect((await db.pool.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
});
