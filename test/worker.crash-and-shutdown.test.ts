// Workers die. A SIGKILL mid-batch loses nothing (a second worker finishes the
// job, duplicates limited to what was in flight), and a SIGTERM leaves no row in
// `sending` and exits promptly.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { useScenario } from './support/scenario.ts';
import { spawnCli, statusCounts, waitUntil, type ChildWorker } from './support/worker.ts';

const children: ChildWorker[] = [];

const s = useScenario();
afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
});
beforeEach(async () => {
  await s.pool.query('truncate mailroom.outbox cascade');
  s.sink.reset();
});

async function enqueueMany(count: number, prefix: string): Promise<void> {
  await s.pool.query(
    `select mailroom.enqueue('account-confirm', $1 || g || '@example.test', $2::jsonb) from generate_series(1, $3::int) g`,
    [prefix, JSON.stringify({ token: 'token-0123456789abcdef' }), count],
  );
}

describe('a worker killed with SIGKILL in the middle of 500 emails', () => {
  it('loses nothing: a second worker sends every row, none left queued or sending', async () => {
    const total = 500;
    s.sink.setDelay(15); // slow enough that the kill lands mid-run
    // A 10 s lease: long enough that a slow machine never takes a live batch for a dead
    // worker, short enough that the restart recovers the killed worker's batches soon.
    const env = s.env({ SMTP_MAX_CONNECTIONS: '2', WORKER_BATCH_SIZE: '25', WORKER_JOB_TIMEOUT_S: '10' });
    await enqueueMany(total, 'kill');

    const first = spawnCli(['worker'], env);
    children.push(first);
    // If the worker died instead (a configuration error, say), show what it said.
    await s.sink.waitFor(120, 60_000).catch((error: Error) => {
      throw new Error(`${error.message}\n--- worker output ---\n${first.output().slice(-3000)}`);
    });
    first.child.kill('SIGKILL');
    await first.exited;
    const atKill = await statusCounts(s.pool);
    expect(atKill.sent ?? 0).toBeLessThan(total);

    const second = spawnCli(['worker'], env);
    children.push(second);
    const final = await waitUntil(
      () => statusCounts(s.pool),
      (c) => (c.sent ?? 0) === total,
      60_000,
      'every row sent after the restart',
    );
    expect(final).toEqual({ sent: total });
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);

    // Every row reached the sink at least once; duplicates are counted, and bounded
    // by what the killed worker had in flight (its batches: concurrency x batch size).
    const byMessageId = new Map<string, number>();
    for (const m of s.sink.messages) byMessageId.set(m.messageId, (byMessageId.get(m.messageId) ?? 0) + 1);
    const duplicates = [...byMessageId.values()].reduce((sum, n) => sum + (n - 1), 0);
    console.log(`SIGKILL at ${atKill.sent ?? 0} sent: ${byMessageId.size} distinct Message-IDs, ${duplicates} duplicate(s) at the sink`);
    expect(byMessageId.size).toBe(total);
    expect(duplicates).toBeLessThanOrEqual(2 * 25);
    // Rows the killed worker was sending are explained in the audit trail.
    const { rows } = await s.pool.query(`select count(*)::int as n from mailroom.delivery_attempt where error_class = 'ambiguous'`);
    expect(rows[0].n).toBeGreaterThanOrEqual(duplicates);
  });
});

describe('SIGTERM during a batch', () => {
  it('exits within 10 s and leaves no row in sending, even with a send that hangs', async () => {
    s.sink.setDelay(30);
    s.sink.respond('hangs@example.test', 'hang');
    await s.pool.query(
      `select mailroom.enqueue('account-confirm', 'hangs@example.test', $1::jsonb)`,
      [JSON.stringify({ token: 'token-0123456789abcdef' })],
    );
    await enqueueMany(200, 'term');
    const worker = spawnCli(['worker'], s.env({ SMTP_MAX_CONNECTIONS: '2', SMTP_TIMEOUT_MS: '30000', WORKER_JOB_TIMEOUT_S: '40' }));
    children.push(worker);
    await s.sink.waitFor(20, 30_000);
    await waitUntil(() => statusCounts(s.pool), (c) => (c.sending ?? 0) > 0, 10_000, 'a batch in flight');

    const signalledAt = Date.now();
    worker.child.kill('SIGTERM');
    const exit = await worker.exited;
    const tookMs = Date.now() - signalledAt;
    expect(exit.code, worker.output()).toBe(0);
    expect(tookMs).toBeLessThan(10_000);

    const counts = await statusCounts(s.pool);
    expect(counts.sending ?? 0).toBe(0);
    // The hung send was aborted and will be tried again; nothing was lost.
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(total).toBe(201);
    expect((counts.sent ?? 0) + (counts.pending ?? 0) + (counts.retrying ?? 0) + (counts.queued ?? 0)).toBe(201);
  });
});
