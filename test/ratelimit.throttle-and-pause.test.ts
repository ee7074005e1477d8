// The provider's word reaches the shared buckets: an SMTP 421 halves the transport's
// rate for every worker (visible in mailroom.rate_limit), and bad credentials
// (Mailjet 401) pause the transport: later emails wait as `pending` without a try,
// and none has its attempts used up. The pause is logged at error level.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { enqueueEmail } from './support/mailroom.ts';
import { learnFromAttempts } from '../src/ratelimit/permits.ts';
import type { Transport } from '../src/transports/transport.ts';
import { startMailjetStub, type MailjetStub } from './support/mailjet-stub.ts';
import { useScenario } from './support/scenario.ts';
import { startInProcessWorker, waitUntil } from './support/worker.ts';

const s = useScenario();
let stub: MailjetStub;
beforeAll(async () => {
  stub = await startMailjetStub();
});
afterAll(async () => {
  await stub?.close();
});

const token = (n: number) => ({ token: `token-${n}-0123456789abcdef` });
const row = async (id: string) =>
  (await s.pool.query('select status, attempts, max_attempts, last_error from mailroom.outbox where id = $1', [id])).rows[0];
const attempts = async (id: string) =>
  (await s.pool.query('select transport, outcome, error_class, response_code from mailroom.delivery_attempt where outbox_id = $1 order by attempt', [id])).rows;

const counted = async (id: string) =>
  (await s.pool.query('select attempt, counted from mailroom.delivery_attempt where outbox_id = $1 order by id', [id])).rows;

describe('a throttled reply', () => {
  it('halves the transport bucket shared by all workers, and the next emails go out at the slower rate', async () => {
    const RATE = 20;
    const worker = await startInProcessWorker(s.env({ RATE_LIMIT_TRANSPORTS: `smtp:${RATE}`, RATE_LIMIT_RECOVERY_MS: '600000' }));
    try {
      s.sink.respond('shedding@example.test', [421]);
      const id = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'shedding@example.test', props: token(0) });
      await waitUntil(() => row(id), (r) => r.status === 'sent', 20_000, 'sent after the 421');
      expect(await attempts(id)).toEqual([
        { transport: 'smtp', outcome: 'retry', error_class: 'throttled', response_code: 421 },
        { transport: 'smtp', outcome: 'sent', error_class: null, response_code: 250 },
      ]);
      // The throttled try is recorded but not counted (migrations/0021): it shares its
      // number with the next try, attempts counts one, and max_attempts stays as it was.
      expect(await row(id)).toMatchObject({ attempts: 1, max_attempts: 8 });
      expect(await counted(id)).toEqual([{ attempt: 1, counted: false }, { attempt: 1, counted: true }]);

      const { rows: bucket } = await s.pool.query(
        `select rate, slow_factor, slowed_at is not null as slowed,
                rate * mailroom.rate_limit_factor(b, clock_timestamp(), 600000) as effective_rate
           from mailroom.rate_limit b where key = 'transport:smtp'`,
      );
      expect(bucket).toHaveLength(1);
      expect(bucket[0]).toMatchObject({ rate: RATE, slow_factor: 0.5, slowed: true });
      expect(bucket[0].effective_rate).toBeCloseTo(RATE / 2, 0);

      // 20 emails from an emptied bucket: at the configured 20/s they would take about
      // one second, at the halved 10/s about two.
      await s.pool.query(`update mailroom.rate_limit set tokens = 0, refilled_at = clock_timestamp() where key = 'transport:smtp'`);
      const ids: string[] = [];
      const client = await s.pool.connect();
      try {
        await client.query('begin');
        for (let n = 1; n <= 20; n++) ids.push(await enqueueEmail(client, { template: 'account-confirm', to: `after${n}@example.test`, props: token(n) }));
        await client.query('commit');
      } finally {
        client.release();
      }
      await waitUntil(async () => (await s.pool.query(`select count(*)::int as n from mailroom.outbox where id = any($1) and status = 'sent'`, [ids])).rows[0].n, (n) => n === 20, 30_000, 'all 20 sent');
      const { rows: span } = await s.pool.query(
        `select extract(epoch from max(started_at) - min(started_at)) * 1000 as ms, count(*)::int as tries
           from mailroom.delivery_attempt where outbox_id = any($1)`,
        [ids],
      );
      expect(span[0].tries).toBe(20); // one try each: waiting for a permit is not a try
      expect(Number(span[0].ms)).toBeGreaterThanOrEqual(1_400);
    } finally {
      await worker.stop();
    }
  });
});

describe('bad credentials (Mailjet 401)', () => {
  it('pause the transport in the shared table: other emails wait without a try, and all go once it answers again', async () => {
    // Every status a row takes, in order (a test-only trigger, dropped below).
    await s.pool.query(`
      create table status_seen (outbox_id uuid, status text, at timestamptz default clock_timestamp());
      create function note_status() returns trigger language plpgsql as $$
        begin
          if new.status is distinct from old.status then insert into status_seen (outbox_id, status) values (new.id, new.status); end if;
          return new;
        end $$;
      create trigger note_status after update on mailroom.outbox for each row execute function note_status();`);
    onTestFinished(() => s.pool.query('drop trigger note_status on mailroom.outbox; drop function note_status(); drop table status_seen').then(() => {}));
    stub.respond('locked@example.test', 401);
    const worker = await startInProcessWorker(
      s.env({ MAIL_TRANSPORT: 'mailjet', MAILJET_API_KEY: stub.apiKey, MAILJET_API_SECRET: stub.apiSecret, MAILJET_API_URL: stub.url, TRANSPORT_PAUSE_MS: '2000' }),
    );
    try {
      const locked = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'locked@example.test', props: token(1) });
      const paused = await waitUntil(
        async () => (await s.pool.query(`select paused_until > now() as paused, pause_reason from mailroom.rate_limit where key = 'transport:mailjet'`)).rows[0],
        (r) => r?.paused === true,
        20_000,
        'mailjet paused',
      );
      expect(paused.pause_reason).toMatch(/mailjet refused the credentials \(HTTP 401\)/);

      // While paused, another email waits: pending, no attempt, the reason shown.
      const waiting = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'waiting@example.test', props: token(2) });
      await waitUntil(() => row(waiting), (r) => r.status === 'pending' && r.last_error !== null, 10_000, 'the second email held back');
      expect(await row(waiting)).toMatchObject({ status: 'pending', attempts: 0, last_error: expect.stringMatching(/^transport mailjet paused: mailjet refused the credentials/) });
      expect(await attempts(waiting)).toEqual([]);
      // The permit is asked before the row is marked: held back, it went from queued
      // straight back to pending, never `sending` (which only ever means a send).
      const { rows: seen } = await s.pool.query(`select status from status_seen where outbox_id = $1 order by at`, [waiting]);
      expect(seen.map((r) => r.status)).toContain('queued');
      expect(seen.map((r) => r.status)).toContain('pending');
      expect(seen.map((r) => r.status)).not.toContain('sending');

      // The credentials work again (here: the stub stops refusing); after the pause both go out.
      stub.respond('locked@example.test', 'success');
      await waitUntil(() => row(locked), (r) => r.status === 'sent', 20_000, 'the refused email sent after the pause');
      await waitUntil(() => row(waiting), (r) => r.status === 'sent', 20_000, 'the held email sent after the pause');
      expect(await attempts(locked)).toEqual([
        { transport: 'mailjet', outcome: 'retry', error_class: 'config', response_code: 401 },
        { transport: 'mailjet', outcome: 'sent', error_class: null, response_code: 200 },
      ]);
      expect(await row(locked)).toMatchObject({ attempts: 1, max_attempts: 8 }); // the 401 did not use up a try
      expect(await counted(locked)).toEqual([{ attempt: 1, counted: false }, { attempt: 1, counted: true }]);
      expect(await attempts(waiting)).toEqual([{ transport: 'mailjet', outcome: 'sent', error_class: null, response_code: 200 }]);
    } finally {
      await worker.stop();
    }
  });

  it('is logged at error level naming the transport and the reason; a failover list leaves it to its circuit breaker', async () => {
    const lines: { level: number; msg: string; transport?: string }[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
    const single = { name: 'mailjet', send: async () => ({ providerMessageId: null, responseCode: null, response: null }), close: async () => {} } satisfies Transport;
    const limits = { transports: {}, domains: {}, recoveryMs: 30_000, pauseMs: 60_000 };
    const outcome = { transport: 'mailjet', errorClass: 'config', errorMessage: 'mailjet refused the credentials (HTTP 401)' };

    await learnFromAttempts({ pool: s.pool, limits, transport: single, logger }, [outcome]);
    const error = lines.find((l) => l.level === 50);
    expect(error).toMatchObject({ transport: 'mailjet' });
    expect(error!.msg).toMatch(/^transport mailjet paused until .* in every worker: mailjet refused the credentials \(HTTP 401\)/);

    await s.pool.query(`update mailroom.rate_limit set paused_until = null where key = 'transport:mailjet'`);
    const chain: Transport = { ...single, name: 'mailjet,smtp', route: () => 'smtp' };
    await learnFromAttempts({ pool: s.pool, limits, transport: chain, logger }, [outcome]);
    const { rows } = await s.pool.query(`select paused_until from mailroom.rate_limit where key = 'transport:mailjet'`);
    expect(rows[0].paused_until).toBeNull();
  });
});
