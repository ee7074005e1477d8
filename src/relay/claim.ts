// The relay's claim: take due rows and hand them on. Rows for any process's
// consumers are marked queued and get their pg-boss jobs in the same transaction,
// so such a row is never queued without a job nor a job left without its row. Rows
// for this process's own idle senders get no job: one statement, no transaction,
// and their lease on the row (lease_expires_at) is the backstop should this process
// die before recording them (the sweeper puts them back in line once it runs out).
// When no rate limit or pause can hold them back, that statement marks them for
// sending too (claimForSenders: the mark's verdicts, src/worker/batch-sql.ts), so
// such a row goes from due to `sending` in one update and one round trip.
import type pg from 'pg';
import type { SendQueue } from '../queue/send-queue.ts';
import { namedStatement } from '../db/named-statement.ts';
import { MARKED_COLUMNS, markAssignments, sendVerdict, templateCategories, type MarkedRow, type MarkRules } from '../worker/batch-sql.ts';

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
const ROOM = `room as (
    select case when $4::int is not null then greatest(0, $4::int)
                else greatest(0, $3::int - (select count(*) from (select 1 from mailroom.outbox
                                                                   where phase = 'in flight' limit $3::int) q))::int
           end as n
  )`;

const DUE = `due as (
    select id from mailroom.outbox
     where phase in ('pending', 'retrying') and send_after <= now()
     order by priority desc, send_after, id
     limit least($1::int, (select n from room))
     for update skip locked
  )`;

// The claimed rows are found again by `id = any (array(...))`, never by a join with
// `due`: the planner cannot tell how many rows `due` holds (its limit is a parameter
// and a subquery), guesses a tenth of the due rows, and under a deep backlog hashed
// the whole outbox for that join (130 ms a claim at 300,000 rows, 100,000 of them
// due; docs/performance.md). An array of ids is looked up in the primary key.
const DUE_IDS = `o.id = any (array(select id from due))`;

export const CLAIM_DUE_ROWS = `
  with ${ROOM}, ${DUE}, claimed as (
    update mailroom.outbox o
       set status = 'queued', job_id = mailroom.uuid_v7(), queued_at = now(),
           lease_expires_at = now() + $2::int * interval '1 second', updated_at = now()
     where ${DUE_IDS}
    returning o.id, o.job_id, o.priority
  )
  -- The room there was, on every row (one row of nulls when nothing was claimed).
  select c.id, c.job_id, c.priority, room.n as room from room left join claimed c on true`;

// The claim for this process's idle senders when nothing can hold a row back (no
// rate limit in play, the transport not paused): the rows are marked as the
// sender's mark would ($5 allowlist, $6 and $7 templates and their categories),
// so each comes back `sending` with its lease, or `expired` or `suppressed` for
// good. The due rows are taken as CLAIM_DUE_ROWS takes them (the due index's order,
// nothing joined before the limit), the verdict reached on the locked row. The room
// there was comes on every row, as in CLAIM_DUE_ROWS.
export const CLAIM_FOR_SENDERS = `
  with ${ROOM}, ${DUE}, batch as (
    -- Locked already (due): FOR UPDATE here reads each row's latest version.
    select o.id, ${sendVerdict('$5')} as next_status, c.category
      from mailroom.outbox o
      ${templateCategories('$6', '$7')}
     where ${DUE_IDS}
       for update of o
  ), claimed as (
    update mailroom.outbox o
       set job_id = mailroom.uuid_v7(), queued_at = now(),
           ${markAssignments('$2')}
      from batch
     where o.id = batch.id and o.id = any (array(select id from batch))
    returning ${MARKED_COLUMNS}
  )
  select c.*, room.n as room from room left join claimed c on true`;

/** Is any row due? The idle relay's poll: one read of outbox_due_idx, no transaction, no lock. */
export const ANY_DUE = `
  select exists (select 1 from mailroom.outbox where phase in ('pending', 'retrying') and send_after <= now()) as due`;

const CLAIM = namedStatement('claim', CLAIM_DUE_ROWS);
const CLAIM_FOR_SENDERS_STATEMENT = namedStatement('claim_for_senders', CLAIM_FOR_SENDERS);
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

/**
 * Claims up to `batchSize` due rows for this process's idle senders and marks
 * them, in one statement: each comes back `sending` (leased for `leaseSeconds`),
 * `expired` or `suppressed`, most urgent first. Only for when no permit is needed.
 */
export async function claimForSenders(
  client: pg.ClientBase,
  options: { batchSize: number; leaseSeconds: number; maxQueued: number; knownRoom?: number | null; rules: MarkRules },
): Promise<{ marked: MarkedRow[]; room: number }> {
  const { rules } = options;
  const { rows } = await client.query<(MarkedRow & { room: number }) | { id: null; room: number }>({
    ...CLAIM_FOR_SENDERS_STATEMENT,
    values: [
      options.batchSize,
      options.leaseSeconds,
      options.maxQueued,
      options.knownRoom ?? null,
      rules.allowedDomains,
      [...rules.categories.keys()],
      [...rules.categories.values()],
    ],
  });
  const marked = rows
    .filter((row): row is MarkedRow & { room: number } => row.id !== null)
    .map(({ room: _room, ...row }) => row as MarkedRow)
    .sort((a, b) => b.priority - a.priority);
  return { marked, room: rows[0]?.room ?? 0 };
}
