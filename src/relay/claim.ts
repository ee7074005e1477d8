// The relay's claim: mark due rows queued and hand them on. Rows for any process's
// consumers get their pg-boss jobs in the same transaction, so such a row is never
// queued without a job nor a job left without its row. Rows for this process's own
// idle senders get no job: one statement, no transaction, and their lease on the
// row (lease_expires_at) is the backstop should this process die before recording
// them (the sweeper puts them back in line once it runs out).
import type pg from 'pg';
import type { SendQueue } from '../queue/send-queue.ts';
import { namedStatement } from '../db/named-statement.ts';

// Reads only outbox_due_idx (partial: pending and retrying rows, by their phase,
// migrations/0024), in the order the index keeps, so the cost follows the backlog
// and not the table's history. SKIP LOCKED lets several relays claim side by side
// without waiting on each other. A fresh job id per hand-off (see outbox.job_id).
//
// Back-pressure: no more than $3 rows are in flight (queued in pg-boss or being
// sent) at once, counted from outbox_phase_list_idx, at most $3 entries, unless
// the relay gives the room it knows ($4, see relay.ts: the count reads every dead
// entry its range holds, up to 10-20 ms a claim before a vacuum). The rest
// stay due in the outbox, in priority order, so an urgent email never queues behind
// a deep pg-boss backlog, and a queued row is fetched well within its lease ($2
// seconds, the job timeout: the sweeper puts back in line a row still queued after
// that).
export const CLAIM_DUE_ROWS = `
  with room as (
    select case when $4::int is not null then greatest(0, $4::int)
                else greatest(0, $3::int - (select count(*) from (select 1 from mailroom.outbox
                                                                   where phase = 'in flight' limit $3::int) q))::int
           end as n
  ), due as (
    select id from mailroom.outbox
     where phase in ('pending', 'retrying') and send_after <= now()
     order by priority desc, send_after, id
     limit least($1::int, (select n from room))
     for update skip locked
  ), claimed as (
    update mailroom.outbox o
       set status = 'queued', job_id = mailroom.uuid_v7(), queued_at = now(),
           lease_expires_at = now() + $2::int * interval '1 second', updated_at = now()
      from due
     where o.id = due.id
    returning o.id, o.job_id, o.priority
  )
  -- The room there was, on every row (one row of nulls when nothing was claimed).
  select c.id, c.job_id, c.priority, room.n as room from room left join claimed c on true`;

/** Is any row due? The idle relay's poll: one read of outbox_due_idx, no transaction, no lock. */
export const ANY_DUE = `
  select exists (select 1 from mailroom.outbox where phase in ('pending', 'retrying') and send_after <= now()) as due`;

const CLAIM = namedStatement('claim', CLAIM_DUE_ROWS);
/** ANY_DUE as a named prepared statement (the relay runs it every 2 ms while mail flows). */
export const ANY_DUE_STATEMENT = namedStatement('any_due', ANY_DUE);

export interface ClaimedRow {
  id: string;
  job_id: string;
  priority: number;
}

type ClaimRow = { id: string | null; job_id: string | null; priority: number | null; room: number };

/** The claimed rows, most urgent first (the order a sender takes them in). */
const claimedRows = (rows: ClaimRow[]): ClaimedRow[] =>
  rows
    .filter((row): row is ClaimRow & ClaimedRow => row.id !== null)
    .map(({ id, job_id, priority }) => ({ id, job_id, priority }))
    .sort((a, b) => b.priority - a.priority);

export async function claimDueRows(
  client: pg.ClientBase,
  queue: SendQueue,
  options: {
    batchSize: number;
    jobTimeoutSeconds: number;
    maxQueued: number;
    knownRoom?: number | null;
    /** The rows are for this process's own senders: no pg-boss job, no transaction. */
    forThisProcess?: boolean;
  },
): Promise<{ claimed: ClaimedRow[]; room: number }> {
  const values = [options.batchSize, options.jobTimeoutSeconds, options.maxQueued, options.knownRoom ?? null];
  if (options.forThisProcess) {
    const { rows } = await client.query<ClaimRow>({ ...CLAIM, values });
    return { claimed: claimedRows(rows), room: rows[0]?.room ?? 0 };
  }
  await client.query('begin');
  try {
    const { rows } = await client.query<ClaimRow>({ ...CLAIM, values });
    const claimed = claimedRows(rows);
    await queue.publish(
      client,
      claimed.map((row) => ({ outboxId: row.id, jobId: row.job_id, priority: row.priority })),
      options.jobTimeoutSeconds,
    );
    await client.query('commit');
    return { claimed, room: rows[0]?.room ?? 0 };
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  }
}
