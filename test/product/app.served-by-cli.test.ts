// `mailroom migrate` applies the app's schema beside mailroom's, and `mailroom serve`
// serves the app (with its schedules) on a real port, and comes up even before
// PostgreSQL does. The app's routes come only from its config: with a config that
// has none (the library's fixture catalogue), /auth/signup is not there.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect } from '../../src/db/connect.ts';
import { freePort } from '../../src/db/embedded-postgres.ts';
import { buildServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { PRODUCT_CONFIG_FILE, runCli, spawnCli, testEnv, waitUntil } from '../support/worker.ts';
import { appConfig } from '../support/app.ts';
import pg from 'pg';
import { fileURLToPath } from 'node:url';

let database: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  database = await createTestDatabase(); // mailroom's schema only, as the template has it
  pool = new pg.Pool({ connectionString: database.url });
});
afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

it('migrate adds the app schema; serve answers the app routes and registers its schedules', async () => {
  const env = testEnv(database.url, 'smtp://127.0.0.1:1', { APP_TIME_ZONE: 'America/New_York', MAILROOM_CONFIG: PRODUCT_CONFIG_FILE });
  const migrated = await runCli(['migrate'], env);
  expect(migrated.code).toBe(0);
  expect(migrated.output).toContain('0001_app');
  expect((await runCli(['migrate'], env)).output).toContain('schema is up to date');

  const port = await freePort();
  const serve = spawnCli(['serve'], { ...env, PORT: String(port), LOG_LEVEL: 'info' });
  try {
    await waitUntil(async () => serve.output(), (output) => output.includes('listening'), 30_000, 'mailroom serve to listen');
    const response = await fetch(`http://127.0.0.1:${port}/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ada@example.test', password: 'correct horse battery', name: 'Ada' }),
    });
    expect(response.status).toBe(202);
    const { rows } = await pool.query(`select template, recipient from mailroom.outbox`);
    expect(rows).toEqual([{ template: 'verify-email', recipient: 'ada@example.test' }]);
    const schedules = await waitUntil(
      async () => (await pool.query(`select name, timezone from pgboss.schedule where name like 'app.%' order by name`)).rows,
      (found) => found.length === 4,
      30_000,
      'the app schedules',
    );
    expect(schedules.every((row) => row.timezone === 'America/New_York')).toBe(true);
  } finally {
    serve.child.kill('SIGTERM');
    await serve.exited;
  }
});

it('with PostgreSQL down the server still comes up (the schedules retry in the background) and closes', async () => {
  const url = `postgres://postgres@127.0.0.1:${await freePort()}/nowhere`;
  const down = connect(url, { max: 1 });
  const server = buildServer({ db: down, logger: createLogger({ level: 'silent' }), config: appConfig({ schedules: { databaseUrl: url, timeZone: 'UTC' } }) });
  try {
    await server.ready();
    expect((await server.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await server.inject({ method: 'POST', url: '/auth/signup', payload: { email: 'a@example.test', password: 'correct horse battery', name: 'A' } })).json()).toEqual({
      error: { code: 'unavailable', message: 'the database is unavailable; try again shortly', field: null },
    });
  } finally {
    await server.close();
    await down.close();
  }
});

it('serve with a config that has no routes serves mailroom only: /auth/signup answers 404, the probes answer', async () => {
  const fixture = fileURLToPath(new URL('../fixtures/library/mailroom.config.ts', import.meta.url));
  const env = testEnv(database.url, 'smtp://127.0.0.1:1');
  const port = await freePort();
  const serve = spawnCli(['serve', '--config', fixture], { ...env, PORT: String(port), LOG_LEVEL: 'info' });
  try {
    await waitUntil(async () => serve.output(), (output) => output.includes('listening'), 30_000, 'mailroom serve to listen');
    const signup = await fetch(`http://127.0.0.1:${port}/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ada@example.test', password: 'correct horse battery', name: 'Ada' }),
    });
    expect(signup.status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  } finally {
    serve.child.kill('SIGTERM');
    await serve.exited;
  }
});
