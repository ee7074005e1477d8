// Idempotency keys, not_after, send_after and priority, each observed at a real SMTP sink.
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../src/cli/commands/worker.ts';
import { enqueueEmail } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { startInProcessWorker, waitUntil } from './support/worker.ts';

const workers: RunningWorker[] = [];

const s = useScenario();

afterAll(async () => {
  for (const w of workers) await w.stop();
});

const props = { token: 'token-0123456789abcdef' };
const status = async (id: string) => (await s.pool.query('select status from mailroom.outbox where id = $1', [id])).rows[0]?.status;

describe('what is sent, and when', () => {
  it('sends one mail for the same idempotency key enqueued twice, returning the first id', async () => {
    const first = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'once@example.test', props, idempotencyKey: 'verify:42' });
    const second = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'once@example.test', props, idempotencyKey: 'verify:42' });
    expect(second).toBe(first);
    const viaSql = await s.pool.query(`select mailroom.enqueue('account-confirm', 'once@example.test', $1::jsonb, 'verify:42') as id`, [
      JSON.stringify(props),
    ]);
    expect(viaSql.rows[0].id).toBe(first);
    const { rows } = await s.pool.query(`select count(*)::int as n from mailroom.outbox where idempotency_key = 'verify:42'`);
    expect(rows[0].n).toBe(1);

    workers.push(await startInProcessWorker(s.env()));
    await waitUntil(() => status(first), (s) => s === 'sent');
    await new Promise((r) => setTimeout(r, 300));
    expect(s.sink.messagesTo('once@example.test')).toHaveLength(1);
  });

  it('expires a row whose not_after has passed, without sending it', async () => {
    const id = await enqueueEmail(s.pool, {
      template: 'account-confirm',
      to: 'stale@example.test',
      props,
      notAfter: new Date(Date.now() - 1_000),
    });
    await waitUntil(() => status(id), (s) => s === 'expired');
    const { rows } = await s.pool.query('select count(*)::int as n from mailroom.delivery_attempt where outbox_id = $1', [id]);
    expect(rows[0].n).toBe(0);
    expect(s.sink.messagesTo('stale@example.test')).toHaveLength(0);
  });

  it('does not send a row before its send_after', async () => {
    const enqueuedAt = Date.now();
    const id = await enqueueEmail(s.pool, {
      template: 'account-confirm',
      to: 'later@example.test',
      props,
      sendAfter: new Date(enqueuedAt + 2_000),
    });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await status(id)).toBe('pending');
    expect(s.sink.messagesTo('later@example.test')).toHaveLength(0);
    await waitUntil(() => status(id), (s) => s === 'sent', 10_000);
    const [message] = s.sink.messagesTo('later@example.test');
    expect(message!.receivedAt.getTime()).toBeGreaterThanOrEqual(enqueuedAt + 2_000);
  });
});

describe('priority', () => {
  it('sends a priority 10 row before older priority 0 rows of a backlog', async () => {
    for (const w of workers.splice(0)) await w.stop();
    s.sink.reset();
    const backlog = 120;
    await s.pool.query(
      `insert into mailroom.outbox (template, recipient, props, priority, created_at, send_after)
       select 'account-confirm', 'bulk' || g || '@example.test', $1::jsonb, 0, now() - interval '1 minute', now() - interval '1 minute'
         from generate_series(1, $2::int) g`,
      [JSON.stringify(props), backlog],
    );
    const urgent = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'urgent@example.test', props, priority: 10 });

    // Small batches, one at a time, so order is observable at the sink.
    workers.push(
      await startInProcessWorker(
        s.env({ RELAY_BATCH_SIZE: '10', WORKER_BATCH_SIZE: '10', WORKER_CONCURRENCY: '1' }),
      ),
    );
    await s.sink.waitFor(backlog + 1, 30_000);
    const order = s.sink.messages.map((m) => m.to);
    expect(order.indexOf('urgent@example.test')).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('urgent@example.test')).toBeLessThan(10);
    expect(await status(urgent)).toBe('sent');
  });
});
