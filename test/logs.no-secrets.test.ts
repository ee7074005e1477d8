// Tokens travel in props; they must never reach the logs, whatever the level.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { enqueueEmail } from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';
import { spawnCli, testEnv, waitUntil } from './support/worker.ts';

let database: TestDatabase;
let sink: SmtpSink;
let pool: pg.Pool;

beforeAll(async () => {
  database = await createTestDatabase();
  sink = await startSmtpSink();
  pool = new pg.Pool({ connectionString: database.url });
});
afterAll(async () => {
  await pool?.end();
  await sink?.close();
  await database?.drop();
});

it('a worker logging at trace level writes no token, sent or failed', async () => {
  const tokens = ['logcheck-token-sent-0123456789', 'logcheck-token-failed-012345678', 'logcheck-token-retry-0123456789'];
  sink.respond('refused@example.test', 550);
  sink.respond('later@example.test', [451]);
  const ids = [
    await enqueueEmail(pool, { template: 'verify-email', to: 'ok@example.test', props: { token: tokens[0]!, name: 'Ada' } }),
    await enqueueEmail(pool, { template: 'password-reset', to: 'refused@example.test', props: { token: tokens[1]!, expiresAt: '2026-12-01T00:00:00Z' } }),
    await enqueueEmail(pool, { template: 'circle-invitation', to: 'later@example.test', props: { token: tokens[2]!, inviterName: 'A', circleName: 'B' } }),
  ];
  const worker = spawnCli(['worker'], testEnv(database.url, sink.url, { LOG_LEVEL: 'trace', RETRY_BASE_MS: '100' }));
  await waitUntil(
    async () => (await pool.query('select status from mailroom.outbox where id = any($1) order by id', [ids])).rows.map((r) => r.status),
    (statuses) => statuses.every((s) => s === 'sent' || s === 'failed'),
  );
  worker.child.kill('SIGTERM');
  await worker.exited;
  const output = worker.output();
  expect(output).toContain('"msg":"sent"');
  expect(output).toContain('send failed');
  for (const token of tokens) expect(output).not.toContain(token);
});
