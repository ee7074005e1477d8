// A fresh, migrated database for a test file: a clone of the run's template
// (see test/setup/global-setup.ts). Typical use, once per file:
//
//   let db: TestDatabase;
//   beforeAll(async () => { db = await createTestDatabase(); });
//   afterAll(() => db.drop());
//
// Clones of one run are named `<template>_f<pid>_<n>`; the global teardown drops
// any a file left behind on a shared server (TEST_DATABASE_URL).
import pg from 'pg';
import { inject } from 'vitest';

export interface TestDatabase {
  /** Connection URL of the new database (same server and role as the admin URL). */
  url: string;
  name: string;
  /** Drop the database, ending any sessions still connected to it. */
  drop(): Promise<void>;
}

let counter = 0;

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** SQLSTATE 55006: "source database ... is being accessed by other users". */
const OBJECT_IN_USE = '55006';

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('adminDatabaseUrl');
  const template = inject('templateDatabase');
  if (!adminUrl || !template) {
    throw new Error('createTestDatabase() needs the global setup (test/setup/global-setup.ts): run through vitest.config.ts');
  }
  const name = `${template}_f${process.pid}_${++counter}`;
  await withPg(adminUrl, async (admin) => {
    // The template refuses connections (allow_connections false), so this only
    // collides with a session still leaving it; retry briefly on that error.
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.query(`create database ${quote(name)} template ${quote(template)}`);
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== OBJECT_IN_USE || attempt >= 40) throw error;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
      }
    }
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    url: url.toString(),
    name,
    drop: () =>
      (dropped ??= withPg(adminUrl, (admin) => dropDatabase(admin, name))),
  };
}

/**
 * Drop a database that pools have just left. pg's Pool.end() resolves before its
 * sockets have closed; a forced drop that lands in between terminates them, and the
 * FATAL reaches a client nobody listens to any more: an uncaught error that fails
 * the run. Give sessions that are leaving a moment (at most 2 s) to go first.
 */
export async function dropDatabase(admin: pg.Client, name: string): Promise<void> {
  for (let waited = 0; waited < 2_000; waited += 25) {
    const { rows } = await admin.query('select count(*)::int as n from pg_stat_activity where datname = $1', [name]);
    if (rows[0].n === 0) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  await admin.query(`drop database if exists ${quote(name)} with (force)`);
}

/** Run `fn` with a connected pg.Client on `url`, and close it afterwards. */
export async function withPg<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'mailroom-test' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}
