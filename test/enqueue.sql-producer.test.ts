// Any language can enqueue: psql, in its own transaction, then the worker delivers.
import { execFileSync, spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { useScenario } from './support/scenario.ts';
import { waitUntil } from './support/worker.ts';

const havePsql = spawnSync('psql', ['--version']).status === 0;

const s = useScenario({ worker: true });

const ENQUEUE = `begin;
select mailroom.enqueue('account-confirm', 'psql@example.test', '{"name": "Grace", "token": "sql-token-0123456789"}');
commit;`;

it(`delivers an email enqueued with select mailroom.enqueue(...) from ${havePsql ? 'psql' : 'a plain SQL client (psql not installed)'}`, async () => {
  if (havePsql) {
    execFileSync('psql', [s.database.url, '-v', 'ON_ERROR_STOP=1', '-c', ENQUEUE], { stdio: 'pipe' });
  } else {
    await s.pool.query(ENQUEUE);
  }
  const row = await waitUntil(
    async () => (await s.pool.query(`select * from mailroom.outbox where recipient = 'psql@example.test'`)).rows[0],
    (r) => r?.status === 'sent',
  );
  expect(row.template).toBe('account-confirm');
  const [message] = s.sink.messagesTo('psql@example.test');
  expect(message!.subject).toBe('Grace, confirm your email address');
  expect(message!.text).toContain('https://app.example/verify?token=sql-token-0123456789');
});
