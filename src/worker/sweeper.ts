// Puts back in line the rows whose lease ran out (outbox.lease_expires_at,
// migrations/0022): queued or sending for longer than the job timeout, because
// their job vanished, ended without settling the row (the handler threw), or
// their worker died mid-batch. Without it, a crash would leave rows `queued` or
// `sending` for ever. It reads mailroom's tables only: what pg-boss did with the
// job does not matter, since a late job finds its row under another job id and
// leaves it (markSending). The rows in flight are found by their phase
// (outbox_phase_list_idx: as many entries as there are rows in flight, at most
// RELAY_MAX_QUEUED plus the batches being sent), their lease read from the row:
// no index names the lease, so renewing it is a HOT update (migrations/0024).
import type pg from 'pg';

// A row lost while `sending` may have been delivered: that try is recorded as an
// ambiguous attempt, so a duplicate at the recipient is explained in the audit
// trail. Its try counts (here, as the worker would have counted it when recording),
// so an email that kills its worker every time ends `failed` instead of looping.
export const SWEEP = `
  with lost as (
    select o.id, o.status, o.attempts, o.max_attempts
      from mailroom.outbox o
     where o.phase = 'in flight'
       and o.lease_expires_at < now()
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
         job_id = null, queued_at = null, lease_expires_at = null, updated_at = now()
    from lost
   where o.id = lost.id
  returning o.id, lost.status as was`;

export async function sweepLostRows(pool: pg.Pool): Promise<{ requeued: number; fromSending: number }> {
  const { rows } = await pool.query<{ id: string; was: string }>(SWEEP);
  return { requeued: rows.length, fromSending: rows.filter((r) => r.was === 'sending').length };
}
