// Puts back in line the rows whose pg-boss job can no longer deliver them: the job
// vanished, ended without settling the row (the handler threw), or has been active
// longer than its expiry (the worker died mid-batch). Without it, a crash would
// leave rows `queued` or `sending` for ever.
import type pg from 'pg';
import { JOB_CANNOT_DELIVER } from '../queue/send-queue.ts';

// A row lost while `sending` may have been delivered: that try is recorded as an
// ambiguous attempt, so a duplicate at the recipient is explained in the audit
// trail. Its try counts (here, as the worker would have counted it when recording),
// so an email that kills its worker every time ends `failed` instead of looping.
const SWEEP = `
  with lost as (
    select o.id, o.status, o.attempts, o.max_attempts
      from mailroom.outbox o
     where o.status in ('queued', 'sending')
       and ${JOB_CANNOT_DELIVER}
     limit 1000
       for update of o skip locked
  ), attempts as (
    insert into mailroom.delivery_attempt
      (outbox_id, attempt, transport, outcome, error_class, error_message, started_at)
    select id, attempts + 1, 'unknown', case when attempts + 1 >= max_attempts then 'failed' else 'retry' end,
           'ambiguous', 'worker lost while sending; the email may have gone out', now()
      from lost where status = 'sending'
  )
  update mailroom.outbox o
     set status = case when lost.status = 'sending' and lost.attempts + 1 >= lost.max_attempts then 'failed' else 'pending' end,
         attempts = o.attempts + (lost.status = 'sending')::int,
         last_error = case when lost.status = 'sending' then 'worker lost while sending' else o.last_error end,
         job_id = null, queued_at = null, updated_at = now()
    from lost
   where o.id = lost.id
  returning o.id, lost.status as was`;

export async function sweepLostRows(pool: pg.Pool): Promise<{ requeued: number; fromSending: number }> {
  const { rows } = await pool.query<{ id: string; was: string }>(SWEEP);
  return { requeued: rows.length, fromSending: rows.filter((r) => r.was === 'sending').length };
}
