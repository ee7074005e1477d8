// The audit views answer "what happened?" in plain SQL, from real deliveries.
import { describe, expect, it } from 'vitest';
import { enqueueEmail } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { waitUntil } from './support/worker.ts';

const s = useScenario({ worker: { RETRY_BASE_MS: '100' } });
const props = { token: 'token-0123456789abcdef' };

describe('audit views', () => {
  it('deliveries shows each email with its last attempt; failures the reason; latency the time to send', async () => {
    s.sink.respond('refused@example.test', 550);
    s.sink.respond('greylisted@example.test', [451]);
    const ids = await Promise.all(
      ['ok@example.test', 'refused@example.test', 'greylisted@example.test'].map((to) =>
        enqueueEmail(s.pool, { template: 'account-confirm', to, props }),
      ),
    );
    await waitUntil(
      async () => (await s.pool.query('select status from mailroom.outbox where id = any($1)', [ids])).rows.map((r) => r.status),
      (statuses) => statuses.every((st) => st === 'sent' || st === 'failed'),
    );
    const deliveries = (await s.pool.query('select recipient, status, last_attempt, last_outcome, last_transport from mailroom.deliveries order by recipient')).rows;
    expect(deliveries).toEqual([
      { recipient: 'greylisted@example.test', status: 'sent', last_attempt: 2, last_outcome: 'sent', last_transport: 'smtp' },
      { recipient: 'ok@example.test', status: 'sent', last_attempt: 1, last_outcome: 'sent', last_transport: 'smtp' },
      { recipient: 'refused@example.test', status: 'failed', last_attempt: 1, last_outcome: 'failed', last_transport: 'smtp' },
    ]);
    const failures = (await s.pool.query('select recipient, error_class, response_code from mailroom.failures')).rows;
    expect(failures).toEqual([{ recipient: 'refused@example.test', error_class: 'permanent', response_code: 550 }]);
    const latency = (await s.pool.query('select attempts, seconds_to_send from mailroom.latency order by attempts')).rows;
    expect(latency.map((r) => r.attempts)).toEqual([1, 2]);
    for (const r of latency) expect(Number(r.seconds_to_send)).toBeGreaterThan(0);
  });
});
