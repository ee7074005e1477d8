// Transient failures retry with growing delays; permanent ones fail at once and
// wait for an operator's replay.
import { describe, expect, it } from 'vitest';
import { enqueueEmail } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { runCli, waitUntil } from './support/worker.ts';

const s = useScenario({ worker: { RETRY_BASE_MS: '400' } });

const props = { token: 'token-0123456789abcdef' };
const row = async (id: string) => (await s.pool.query('select * from mailroom.outbox where id = $1', [id])).rows[0];
const attempts = async (id: string) =>
  (await s.pool.query('select * from mailroom.delivery_attempt where outbox_id = $1 order by attempt, id', [id])).rows;

describe('delivery under SMTP errors', () => {
  it('retries 451 twice, then sends on attempt 3 with growing delays', async () => {
    s.sink.respond('greylisted@example.test', [451, 451]);
    const id = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'greylisted@example.test', props });
    const done = await waitUntil(() => row(id), (r) => r.status === 'sent', 20_000, 'sent after retries');
    expect(done.attempts).toBe(3);

    const tries = await attempts(id);
    expect(tries.map((a) => [a.attempt, a.outcome, a.error_class, a.response_code])).toEqual([
      [1, 'retry', 'transient', 451],
      [2, 'retry', 'transient', 451],
      [3, 'sent', null, 250],
    ]);
    // The wait between tries: from one attempt's end to the next one's start.
    const firstGap = tries[1].started_at - tries[0].finished_at;
    const secondGap = tries[2].started_at - tries[1].finished_at;
    // Backoff 400 ms * 2^(n-1), jittered +-20%: about 400 then about 800.
    expect(firstGap).toBeGreaterThanOrEqual(320);
    expect(secondGap).toBeGreaterThan(firstGap);
    expect(secondGap).toBeGreaterThanOrEqual(640);
    expect(s.sink.attemptsFor('greylisted@example.test')).toBe(3);
    expect(s.sink.messagesTo('greylisted@example.test')).toHaveLength(1);
  });

  it('counts a try when its result is recorded: attempts only ever goes up, max_attempts never moves', async () => {
    // A 421 (throttled, not counted), two 451s (counted), then accepted; watched the whole way.
    s.sink.respond('watched@example.test', [421, 451, 451]);
    const id = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'watched@example.test', props });
    const seen: { status: string; attempts: number; max_attempts: number }[] = [];
    const done = await waitUntil(
      async () => {
        const r = (await s.pool.query('select status, attempts, max_attempts from mailroom.outbox where id = $1', [id])).rows[0];
        seen.push(r);
        return r;
      },
      (r) => r.status === 'sent',
      30_000,
      'sent after a 421 and two 451s',
    );
    expect(done).toMatchObject({ attempts: 3, max_attempts: 8 });
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.attempts).toBeGreaterThanOrEqual(seen[i - 1]!.attempts);
    expect(new Set(seen.map((r) => r.max_attempts))).toEqual(new Set([8]));
    // While a try is under way it is not counted yet: a row `sending` shows the tries recorded.
    for (const r of seen.filter((r) => r.status === 'sending')) expect(r.attempts).toBeLessThan(3);
    expect((await attempts(id)).map((a) => [a.attempt, a.outcome, a.error_class, a.counted])).toEqual([
      [1, 'retry', 'throttled', false],
      [1, 'retry', 'transient', true],
      [2, 'retry', 'transient', true],
      [3, 'sent', null, true],
    ]);
    // The backoff grows with every try, counted or not: about 400, 800, 1,600 ms (+-20%).
    const tries = await attempts(id);
    const gaps = [1, 2, 3].map((i) => tries[i].started_at - tries[i - 1].finished_at);
    expect(gaps[0]).toBeGreaterThanOrEqual(320);
    expect(gaps[1]).toBeGreaterThanOrEqual(640);
    expect(gaps[2]).toBeGreaterThanOrEqual(1_280);
  });

  it('treats a 421 as the server shedding load: throttled, retried, the try not counted', async () => {
    s.sink.respond('shedding@example.test', [421]);
    const id = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'shedding@example.test', props });
    const done = await waitUntil(() => row(id), (r) => r.status === 'sent', 20_000, 'sent after a 421');
    // The throttled try is recorded, not counted (migrations/0021): one attempt, the budget untouched.
    expect(done).toMatchObject({ attempts: 1, max_attempts: 8 });
    expect((await attempts(id)).map((a) => [a.outcome, a.error_class, a.response_code])).toEqual([
      ['retry', 'throttled', 421],
      ['sent', null, 250],
    ]);
  });

  it('fails a 550 after one attempt, and `mailroom replay <id>` sends it once the sink accepts', async () => {
    s.sink.respond('rejected@example.test', 550);
    const id = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'rejected@example.test', props });
    const failed = await waitUntil(() => row(id), (r) => r.status === 'failed', 15_000, 'failed');
    expect(failed.attempts).toBe(1);
    expect(failed.last_error).toMatch(/550/);
    // No retry is scheduled: wait past the first backoff and check nothing moved.
    await new Promise((r) => setTimeout(r, 800));
    expect((await row(id)).status).toBe('failed');
    expect(await attempts(id)).toMatchObject([{ attempt: 1, outcome: 'failed', error_class: 'permanent', response_code: 550 }]);

    s.sink.respond('rejected@example.test', 'accept');
    const replay = await runCli(['replay', id], { DATABASE_URL: s.database.url });
    expect(replay.output).toContain('replayed 1 of 1');
    expect(replay.code).toBe(0);

    const sent = await waitUntil(() => row(id), (r) => r.status === 'sent', 15_000, 'sent after replay');
    expect(sent.attempts).toBe(2);
    expect((await attempts(id)).map((a) => a.outcome)).toEqual(['failed', 'sent']);
  });

  it('replays by filter with --dry-run first, changing nothing', async () => {
    s.sink.respond('filtered@example.test', 550);
    const id = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'filtered@example.test', props });
    await waitUntil(() => row(id), (r) => r.status === 'failed');

    const dry = await runCli(['replay', '--status', 'failed', '--template', 'account-confirm', '--since', '1h', '--dry-run'], {
      DATABASE_URL: s.database.url,
    });
    expect(dry.code).toBe(0);
    expect(dry.output).toContain(id);
    expect((await row(id)).status).toBe('failed');

    const bad = await runCli(['replay', '--status', 'broken'], { DATABASE_URL: s.database.url });
    expect(bad.code).not.toBe(0);
    expect(bad.output).toContain('--status');
  });
});
