// A process that cannot start says why in one line; the stack trace is for
// LOG_LEVEL=debug. Here: `mailroom worker` on a database with a migration missing
// (an error of no special kind, which used to print its stack).
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { runCli, testEnv } from './support/worker.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query(`delete from mailroom.kysely_migration where name = (select max(name) from mailroom.kysely_migration)`);
  } finally {
    await client.end();
  }
});
afterAll(async () => {
  await database?.drop();
});

const env = (overrides: Record<string, string> = {}) => testEnv(database.url, 'smtp://127.0.0.1:1', { LOG_LEVEL: 'info', ...overrides });

it('prints one line, the message, and no stack', async () => {
  const { code, output } = await runCli(['worker'], env());
  expect(code).toBe(1);
  const lines = output.trim().split('\n').filter((line) => !line.startsWith('{'));
  expect(lines).toEqual([expect.stringMatching(/^mailroom: the database is not migrated \(pending: .+\); run `mailroom migrate` first$/)]);
  expect(output).not.toMatch(/^\s+at /m);
});

it('prints the stack too with LOG_LEVEL=debug', async () => {
  const { code, output } = await runCli(['worker'], env({ LOG_LEVEL: 'debug' }));
  expect(code).toBe(1);
  expect(output).toMatch(/mailroom: the database is not migrated/);
  expect(output).toMatch(/^\s+at .*start-worker\.ts/m);
});
