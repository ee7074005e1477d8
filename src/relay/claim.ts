// The relay's one transaction: claim due rows, create their pg-boss jobs, mark them
// queued. Both writes commit together, so a row is never queued without a job nor
// a job left without its row.
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

export async function claimDueRows(
  client: pg.ClientBase,
  queue: SendQueue,
  options: {
    batchSize: number;
    jobTimeoutSeconds: number;
    maxQueued: number;
    knownRoom?: number | null;
    /** The first this many rows claimed go to a sender in this process (Handoff.heldLocally). */
    heldLocally?: number;
  },
): Promise<{ claimed: ClaimedRow[]; room: number }> {
  await client.query('begin');
  try {
    const { rows } = await client.query<{
      id: string | null;
      job_id: string | null;
      priority: number | null;
      room: number;
    }>({
      ...CLAIM,
      values: [options.batchSize, options.jobTimeoutSeconds, options.maxQueued, options.knownRoom ?? null],
    });
    // Most urgent first, so the rows held for this process's own senders are those.
    const claimed = rows.filter((row): row is ClaimedRow & { room: number } => row.id !== null).sort((a, b) => b.priority - a.priority);
    await queue.publish(
      client,
      claimed.map((row, i) => ({
        outboxId: row.id,
        jobId: row.job_id,
        priority: row.priority,
        heldLocally: i < (options.heldLocally ?? 0),
      })),
      options.jobTimeoutSeconds,
    );
    await client.query('commit');
    return { claimed, room: rows[0]?.room ?? 0 };
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  }
}
