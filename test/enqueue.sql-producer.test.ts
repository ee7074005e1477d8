// Any language can enqueue: psql, in its own transaction, then the worker delivers.
import { execFileSync, spawnSync } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningWorker } from '../src/cli/commands/worker.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';
import { startInProcessWorker, testEnv, waitUntil } from './support/worker.ts';

let database: TestDatabase;
let sink: SmtpSink;
let worker: RunningWorker;
let pool: pg.Pool;

const havePsql = spawnSync('psql', ['--version']).status === 0;

beforeAll(async () => {
  database = await createTestDatabase();
  sink = await startSmtpSink();
  pool = new pg.Pool({ connectionString: database.url });
  worker = await startInProcessWorker(testEnv(database.url, sink.url));
});
afterAll(async () => {
  await worker?.stop();
  await pool?.end();
  await sink?.close();
  await database?.drop();
});

const ENQUEUE = `begin;
select mailroom.enqueue('verify-email', 'psql@example.test', '{"name": "Grace", "token": "sql-token-0123456789"}');
commit;`;

it(`delivers an email enqueued with select mailroom.enqueue(...) from ${havePsql ? 'psql' : 'a plain SQL client (psql not installed)'}`, async () => {
  if (havePsql) {
    execFileSync('psql', [database.url, '-v', 'ON_ERROR_STOP=1', '-c', ENQUEUE], { stdio: 'pipe' });
  } else {
    await pool.query(ENQUEUE);
  }
  const row = await waitUntil(
    async () => (await pool.query(`select * from mailroom.outbox where recipient = 'psql@example.test'`)).rows[0],
    (r) => r?.status === 'sent',
  );
  expect(row.template).toBe('verify-email');
  const [message] = sink.messagesTo('psql@example.test');
  expect(message!.subject).toBe('Grace, confirm your email address');
  expect(message!.text).toContain('https://app.example/verify?token=sql-token-0123456789');
});
