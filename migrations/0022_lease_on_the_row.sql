-- The lease on the row (issue 17): a row taken for sending carries how long its
-- taker may hold it. The relay sets it when it hands the row to pg-boss (`queued`),
-- the sender renews it when it marks the row `sending`, and it is cleared when the
-- row settles or goes back in line. The sweeper finds rows whose lease ran out by
-- this column alone (outbox_lease_idx): it reads no pg-boss table, so the hand-off
-- can change without it.
--
-- A row still `queued` under the old rule has no lease: it is given one here, as
-- if it had just been queued, so the sweeper of this version can find it.
--
-- On a large outbox this migration's index build blocks writes while it runs (the
-- migration is one transaction); build it beforehand with `create index
-- concurrently if not exists` under the same name, and it is skipped.

alter table mailroom.outbox add column lease_expires_at timestamptz;

update mailroom.outbox set lease_expires_at = now() + interval '10 minutes'
 where status in ('queued', 'sending') and lease_expires_at is null;

create index if not exists outbox_lease_idx on mailroom.outbox (lease_expires_at)
  where status in ('queued', 'sending');

-- The sweeper read the in-flight rows by queued_at and asked pg-boss about their
-- jobs; it now reads outbox_lease_idx.
drop index if exists mailroom.outbox_in_flight_idx;
