// `mailroom serve`'s probes: /healthz says the process is up, /readyz says the
// database answers and is migrated, with a generic reason only (the details go to
// the log: anyone who reaches the port may ask). Against a real database (a fresh migrated clone),
// a database nobody listens for, and the real CLI process for start-up and SIGTERM.
import { Writable } from 'node:stream';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Db } from '../src/db/connect.ts';
import { freePort } from '../src/db/embedded-postgres.ts';
import { buildServer, type Server } from '../src/http/server.ts';
import { createLogger } from '../src/logger.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { runCli, spawnCli, waitUntil } from './support/worker.ts';

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** A logger that keeps its lines, to see what the server logged that the client was not told. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, stream), lines };
}

let database: TestDatabase;
let db: Db;
let server: Server;

beforeAll(async () => {
  database = await createTestDatabase();
  db = connect(database.url, { max: 2, applicationName: 'mailroom-test-http' });
  server = buildServer({ db, logger });
});
afterAll(async () => {
  await server?.close();
  await db?.close();
  await database?.drop();
});

describe('GET /healthz', () => {
  it('answers 200 {status: ok}', async () => {
    const response = await server.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('answers 200 even when the database is down: the process is up', async () => {
    const down = connect(`postgres://postgres@127.0.0.1:${await freePort()}/nowhere`, { max: 1 });
    const app = buildServer({ db: down, logger });
    try {
      const response = await app.inject({ method: 'GET', url: '/healthz' });
      expect(response.statusCode).toBe(200);
    } finally {
      await app.close();
      await down.close();
    }
  });
});

describe('GET /readyz', () => {
  it('answers 200 on a migrated database', async () => {
    const response = await server.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready' });
  });

  it('answers 503 with a generic reason when the database is unreachable (nothing listens on its port); the details go to the log only', async () => {
    const port = await freePort();
    const down = connect(`postgres://postgres@127.0.0.1:${port}/nowhere`, { max: 1 });
    const { logger: capturing, lines } = capturingLogger();
    const app = buildServer({ db: down, logger: capturing });
    try {
      const response = await app.inject({ method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(503);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      // Anyone may ask: no error text, address or port in the answer.
      expect(response.json()).toEqual({ status: 'unavailable', reason: 'database unreachable' });
      expect(response.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
      expect(response.body).not.toContain(String(port));
      // The operator finds them in the log.
      const logged = lines.find((line) => line.msg === 'not ready: database unreachable');
      expect(JSON.stringify(logged)).toMatch(/ECONNREFUSED/);
    } finally {
      await app.close();
      await down.close();
    }
  });

  it('answers 503 when the database stops answering, within its timeout', async () => {
    // A server that accepts the TCP connection and never speaks: a hung database.
    const { createServer } = await import('node:net');
    const sockets = new Set<import('node:net').Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const hung = connect(`postgres://postgres@127.0.0.1:${port}/nowhere`, { max: 1 });
    const app = buildServer({ db: hung, logger, readyTimeoutMs: 300 });
    try {
      const started = Date.now();
      const response = await app.inject({ method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({ status: 'unavailable', reason: 'database unreachable' });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await app.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
      await hung.close().catch(() => {});
    }
  });

  it('answers 503 when a database has not applied a migration, naming it in the log only', async () => {
    const other = await createTestDatabase();
    const otherDb = connect(other.url, { max: 1 });
    const { logger: capturing, lines } = capturingLogger();
    const app = buildServer({ db: otherDb, logger: capturing });
    try {
      const { rows } = await otherDb.pool.query<{ name: string }>('select name from mailroom.kysely_migration order by name desc limit 1');
      const latest = rows[0]!.name;
      await otherDb.pool.query('delete from mailroom.kysely_migration where name = $1', [latest]);
      const response = await app.inject({ method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({ status: 'unavailable', reason: 'migrations pending' });
      expect(lines.find((line) => line.msg === 'not ready: migrations pending')).toMatchObject({ pending: [latest] });
    } finally {
      await app.close();
      await otherDb.close();
      await other.drop();
    }
  });

  it('answers 503 when the worker\'s loops stall, naming them in the log only', async () => {
    const { logger: capturing, lines } = capturingLogger();
    const app = buildServer({ db, logger: capturing, stalledLoops: () => ['relay', 'sweeper'] });
    try {
      const response = await app.inject({ method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({ status: 'unavailable', reason: 'worker loops stalled' });
      expect(lines.find((line) => line.msg === 'not ready: worker loops stalled')).toMatchObject({ loops: ['relay', 'sweeper'] });
    } finally {
      await app.close();
    }
  });
});

describe('mailroom serve', () => {
  it('listens on HOST:PORT, logs the address, answers the probes, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const run = spawnCli(['serve'], { DATABASE_URL: database.url, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' });
    try {
      await waitUntil(async () => run.output(), (output) => output.includes('listening at') || run.child.exitCode !== null, 20_000, 'serve to listen');
      expect(run.output()).toContain(`mailroom api listening at http://127.0.0.1:${port}`);

      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);

      run.child.kill('SIGTERM');
      expect(await run.exited).toEqual({ code: 0, signal: null });
      expect(run.output()).toContain('api stopped');
      // Its pool is closed: no session of mailroom-api is left on the database.
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const left = await waitUntil(
          async () => // This database's sessions only: another process on the same server (a bench, a
          // second test run) may have its own mailroom-api sessions.
          (await client.query(`select count(*)::int as n from pg_stat_activity where application_name = 'mailroom-api' and datname = current_database()`)).rows[0].n,
          (n) => n === 0,
          5_000,
          'the api sessions to end',
        );
        expect(left).toBe(0);
      } finally {
        await client.end();
      }
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });

  it('needs DATABASE_URL, and names it', async () => {
    const { code, output } = await runCli(['serve'], { DATABASE_URL: '' });
    expect(code).toBe(1);
    expect(output).toContain('DATABASE_URL');
  });

  it('refuses a PORT out of range, naming the variable', async () => {
    const { code, output } = await runCli(['serve'], { DATABASE_URL: database.url, PORT: '70000' });
    expect(code).toBe(1);
    expect(output).toMatch(/configuration error: PORT/);
  });
});
