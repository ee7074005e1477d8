// The relay's one transaction: claim due rows, create their pg-boss jobs, mark them
// queued. Both writes commit together, so a row is never queued without a job nor
// a job left without its row.
import type pg from 'pg';
import type { SendQueue } from '../queue/send-queue.ts';

// Reads only outbox_due_idx (partial: pending and retrying rows), in the order the
// index keeps, so the cost follows the backlog and not the table's history.
// SKIP LOCKED lets several relays claim side by side without waiting on each other.
// A fresh job id per hand-off (see outbox.job_id).
export const CLAIM_DUE_ROWS = `
  with due as (
    select id from mailroom.outbox
     where status in ('pending', 'retrying') and send_after <= now()
     order by priority desc, send_after, id
     limit $1
     for update skip locked
  )
  update mailroom.outbox o
     set status = 'queued', job_id = mailroom.uuid_v7(), queued_at = now(), updated_at = now()
    from due
   where o.id = due.id
  returning o.id, o.job_id, o.priority`;

export interface ClaimedRow {
  id: string;
  job_id: string;
  priority: number;
}

export async function claimDueRows(
  client: pg.ClientBase,
  queue: SendQueue,
  options: { batchSize: number; jobTimeoutSeconds: number },
): Promise<ClaimedRow[]> {
  await client.query('begin');
  try {
    const { rows: claimed } = await client.query<ClaimedRow>(CLAIM_DUE_ROWS, [options.batchSize]);
    await queue.publish(
      client,
      claimed.map((row) => ({ outboxId: row.id, jobId: row.job_id, priority: row.priority })),
      options.jobTimeoutSeconds,
    );
    await client.query('commit');
    return claimed;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  }
}
