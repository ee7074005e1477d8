// The relay gives what it claims to an idle sender of its own process: those rows
// get no pg-boss job at all (src/relay/relay.ts), and their lease on the row is the
// backstop. A trigger of this test's own keeps the id of every job ever inserted,
// so "no job" means never published, not published and deleted since; another keeps
// every status a row went through, so "marked by the claim" means never `queued`.
import { beforeAll, describe, expect, it } from 'vitest';
import { enqueueEmail } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { waitUntil } from './support/worker.ts';

const s = useScenario({ worker: { WORKER_CONCURRENCY: '1', WORKER_BATCH_SIZE: '2' } });

beforeAll(async () => {
  await s.pool.query(`
    create table public.published_job (id uuid primary key);
    create function public.keep_published_job() returns trigger language plpgsql as $$
      begin insert into public.published_job values (new.id); return null; end $$;
    create trigger keep_published_job after insert on pgboss.job for each row execute function public.keep_published_job();
    create table public.status_change (outbox_id uuid, status text, at timestamptz default clock_timestamp());
    create function public.keep_status_change() returns trigger language plpgsql as $$
      begin insert into public.status_change (outbox_id, status) values (new.id, new.status); return null; end $$;
    create trigger keep_status_change after update on mailroom.outbox for each row
      when (old.status is distinct from new.status) execute function public.keep_status_change()`);
});

const sentRows = (ids: string[]) =>
  s.pool.query<{ id: string; job_id: string; state: string | null; published: boolean; attempts: number }>(
    `select o.id, o.job_id, j.state::text as state, exists (select 1 from public.published_job p where p.id = o.job_id) as published,
            (select count(*)::int from mailroom.delivery_attempt a where a.outbox_id = o.id) as attempts
       from mailroom.outbox o left join pgboss.job j on j.id = o.job_id
      where o.id = any($1) and o.status = 'sent'`,
    [ids],
  );

describe('the relay hands its claim to an idle sender of its own process', () => {
  it('sends a lone email without a pg-boss job: none was ever published for it', async () => {
    const id = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'lone@example.test', props: { token: 'token-0123456789abcdef' } });
    const rows = await waitUntil(async () => (await sentRows([id])).rows, (r) => r.length === 1, 10_000, 'sent');
    expect(rows[0]).toMatchObject({ state: null, published: false, attempts: 1 });
    expect(rows[0]!.job_id).toEqual(expect.any(String));
    // No rate limit here: the claim itself marked it sending (one update, not two).
    const changes = await s.pool.query('select status from public.status_change where outbox_id = $1 order by at', [id]);
    expect(changes.rows.map((r) => r.status)).toEqual(['sending', 'sent']);
  });

  it('under a backlog, hands over and publishes side by side: every email sent once, each published one completed', async () => {
    // One transaction, so the relay finds all 40 due at once.
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
      (r) => r.every((row) => (row.published ? row.state === 'completed' : row.state === null)),
      5_000,
      'every published job completed',
    );
    expect(rows.every((row) => row.attempts === 1)).toBe(true);
    // One slot, batches of 2: the relay claims 2 for its idle slot (no job), then, the
    // slot busy, publishes the rest for pg-boss's consumer, so both paths are taken.
    expect(rows.filter((row) => !row.published).length).toBeGreaterThanOrEqual(2);
    expect(rows.some((row) => row.published)).toBe(true);
    expect(s.sink.messages.length).toBeGreaterThanOrEqual(41);
  });
});
