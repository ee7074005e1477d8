// The relay gives what it claims to an idle sender of its own process: those rows
// are sent without pg-boss's fetch, and their held jobs are deleted once recorded
// (src/relay/relay.ts). A job that went through pg-boss's fetch stays `completed`
// (the queue keeps completed jobs an hour), so a deleted job is the hand-over's mark.
import { describe, expect, it } from 'vitest';
import { enqueueEmail } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { waitUntil } from './support/worker.ts';

const s = useScenario({ worker: { WORKER_CONCURRENCY: '1', WORKER_BATCH_SIZE: '2' } });

const sentRows = (ids: string[]) =>
  s.pool.query<{ id: string; job_id: string; state: string | null; attempts: number }>(
    `select o.id, o.job_id, j.state::text as state,
            (select count(*)::int from mailroom.delivery_attempt a where a.outbox_id = o.id) as attempts
       from mailroom.outbox o left join pgboss.job j on j.id = o.job_id
      where o.id = any($1) and o.status = 'sent'`,
    [ids],
  );

describe('the relay hands its claim to an idle sender of its own process', () => {
  it('sends a lone email without a pg-boss fetch: its job is gone, not completed', async () => {
    const id = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'lone@example.test', props: { token: 'token-0123456789abcdef' } });
    await waitUntil(async () => (await sentRows([id])).rows.length, (n) => n === 1, 10_000, 'sent');
    // The job is deleted just after the record: wait for that, not for a fixed time.
    const rows = await waitUntil(async () => (await sentRows([id])).rows, (r) => r[0]?.state === null, 5_000, 'held job deleted');
    expect(rows[0]!.attempts).toBe(1);
  });

  it('under a backlog, hands over and fetches side by side: every email sent once, no job left to fire later', async () => {
    // One transaction, so the relay finds all 40 due in one claim.
    const ids: string[] = [];
    const client = await s.pool.connect();
    try {
      await client.query('begin');
      for (let i = 0; i < 40; i++) ids.push(await enqueueEmail(client, { template: 'account-confirm', to: `backlog${i}@example.test`, props: { token: 'token-0123456789abcdef' } }));
      await client.query('commit');
    } finally {
      client.release();
    }
    await waitUntil(async () => (await sentRows(ids)).rows.length, (n) => n === 40, 20_000, 'all 40 sent');
    const rows = await waitUntil(
      async () => (await sentRows(ids)).rows,
      (r) => r.every((row) => row.state === null || row.state === 'completed'),
      5_000,
      'every job deleted or completed',
    );
    expect(rows.every((row) => row.attempts === 1)).toBe(true);
    // One slot, batches of 2, one claim of 40: it hands over one batch (the slot was idle)
    // and queues the other 38 for pg-boss's consumer, so both paths are taken.
    expect(rows.some((row) => row.state === null)).toBe(true);
    expect(rows.some((row) => row.state === 'completed')).toBe(true);
    expect(s.sink.messages.length).toBeGreaterThanOrEqual(41);
  });
});
