// Tokens travel in props; they must never reach the logs, whatever the level.
import { expect, it } from 'vitest';
import { enqueueEmail } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { spawnCli, waitUntil } from './support/worker.ts';

const s = useScenario();

it('a worker logging at trace level writes no token, sent or failed', async () => {
  const tokens = ['logcheck-token-sent-0123456789', 'logcheck-token-failed-012345678', 'logcheck-token-retry-0123456789'];
  s.sink.respond('refused@example.test', 550);
  s.sink.respond('later@example.test', [451]);
  const ids = [
    await enqueueEmail(s.pool, { template: 'account-confirm', to: 'ok@example.test', props: { token: tokens[0]!, name: 'Ada' } }),
    await enqueueEmail(s.pool, { template: 'account-reset', to: 'refused@example.test', props: { token: tokens[1]!, expiresAt: '2026-12-01T00:00:00Z' } }),
    await enqueueEmail(s.pool, { template: 'team-invite', to: 'later@example.test', props: { token: tokens[2]!, inviterName: 'A', teamName: 'B' } }),
  ];
  const worker = spawnCli(['worker'], s.env({ LOG_LEVEL: 'trace', RETRY_BASE_MS: '100' }));
  await waitUntil(
    async () => (await s.pool.query('select status from mailroom.outbox where id = any($1) order by id', [ids])).rows.map((r) => r.status),
    (statuses) => statuses.every((status) => status === 'sent' || status === 'failed'),
  );
  worker.child.kill('SIGTERM');
  await worker.exited;
  const output = worker.output();
  expect(output).toContain('"msg":"sent"');
  expect(output).toContain('send failed');
  for (const token of tokens) expect(output).not.toContain(token);
});
