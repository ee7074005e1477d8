// A relay that found the queue at RELAY_MAX_QUEUED does not count the rows in
// flight again every busy poll (that count was most of its PostgreSQL time per
// email, docs/performance.md): it waits for room worth a claim, and is woken as
// soon as this process's senders settle rows. Here the fallback wait is four polls
// of 3 s (12 s), so mail that flows through a queue of two at once can only keep
// moving if settled batches wake the relay.
import { describe, expect, it } from 'vitest';
import { enqueueEmail } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { waitUntil } from './support/worker.ts';

const s = useScenario({
  worker: { WORKER_CONCURRENCY: '1', WORKER_BATCH_SIZE: '1', RELAY_MAX_QUEUED: '2', RELAY_POLL_MS: '3000' },
});

describe('a relay at the RELAY_MAX_QUEUED cap', () => {
  it('claims again as soon as its senders settle rows, not after its fallback wait', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await enqueueEmail(s.pool, { template: 'account-confirm', to: `cap${i}@example.test`, props: { token: 'token-0123456789abcdef' } }));
    // The idle relay notices them within one poll (3 s); after that, six claims or
    // more at a cap of 2, each of which would otherwise wait 12 s.
    const sent = await waitUntil(
      async () => (await s.pool.query(`select count(*)::int as n from mailroom.outbox where id = any($1) and status = 'sent'`, [ids])).rows[0].n,
      (n) => n === 12,
      11_000,
      'all 12 sent',
    );
    expect(sent).toBe(12);
    const { rows } = await s.pool.query(`select count(*)::int as n from mailroom.delivery_attempt where outbox_id = any($1)`, [ids]);
    expect(rows[0].n).toBe(12);
  });
});
