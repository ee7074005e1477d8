-- An attempt is counted when its result is recorded, not when its row is marked
-- `sending` (issue 17): `outbox.attempts` only ever goes up, by one per counted
-- try, and `max_attempts` is never raised behind an operator's back. A try that
-- is not the email's fault (the provider throttled us, or refused our own
-- configuration) is recorded with `counted = false`: it is in the audit trail, it
-- takes no attempt from the email's budget, and the next try carries the same
-- attempt number.
--
-- Rows already in the outbox keep their numbers: a row `sending` during this
-- migration was counted the old way and is recorded the new way, so its attempts
-- may come out one higher than its tries (once, for that row only).

alter table mailroom.delivery_attempt add column counted boolean not null default true;

-- The uncounted tries of a row, for the backoff: it still grows with every try,
-- counted or not, so a provider that keeps throttling is asked less and less often.
-- Partial: only throttled and config tries are in it, so the sender's lookup per row
-- (markSending) reads an index that is nearly always empty for that row.
create index delivery_attempt_uncounted_idx on mailroom.delivery_attempt (outbox_id) where not counted;

comment on column mailroom.delivery_attempt.counted is
  'false: a throttled or configuration try, which did not use up an attempt of the email (its number is shared with the next try)';
