-- Status flips that stay HOT (issue 17). PostgreSQL updates a row in place, without
-- a new entry in any index (a HOT update), only when no column an index names
-- changes: its keys, and the columns of a partial index's predicate too. Until now
-- `status` was in four indexes (the due index's and the lease index's predicates,
-- the admin list's key), so every flip (queued, sending, sent) wrote an entry in
-- every index of the outbox: 0 HOT updates in 95,400 (LIBRARIES.md).
--
-- `phase` is the status with the two in-flight states folded into one:
-- 'in flight' for queued and sending, the status itself otherwise. The indexes that
-- told statuses apart name `phase` instead, and no index names `status` or
-- `lease_expires_at` any more, so marking a row `sending` (queued -> sending, the
-- lease renewed) changes no indexed value and can be HOT. Handing a row off
-- (pending -> queued) and settling it (sending -> sent) still change `phase`: the
-- row must leave the due index and the in-flight set, so those stay non-HOT.
--
--   outbox_due_idx         (priority desc, send_after, id) where phase in ('pending', 'retrying')
--   outbox_phase_list_idx  (phase, created_at desc, id desc): the admin list by
--                          status, the counts by status, and the sweeper's and the
--                          relay's view of the rows in flight (lease read from the row)
--
-- outbox_status_list_idx and outbox_lease_idx go. A query by status names the
-- phase too (`phase = mailroom.outbox_phase(s) and status = s`) so it reads
-- outbox_phase_list_idx; for every status but queued and sending the phase is the
-- status, and the second condition is implied.
--
-- On a large outbox this migration rewrites the table (a stored generated column)
-- and builds two indexes while holding an exclusive lock: run it in a quiet window.

-- Immutable and final: the stored column holds its results, so its definition
-- must never change without a rewrite of the column.
create function mailroom.outbox_phase(status text) returns text
language sql immutable parallel safe as $$
  select case when status in ('queued', 'sending') then 'in flight' else status end
$$;

comment on function mailroom.outbox_phase(text) is
  'outbox.phase of a status: ''in flight'' for queued and sending, the status itself otherwise';

alter table mailroom.outbox
  add column phase text not null generated always as (mailroom.outbox_phase(status)) stored;

comment on column mailroom.outbox.phase is
  'status with queued and sending folded into ''in flight'' (migrations/0024): what the indexes name, so that queued -> sending is a HOT update';

drop index if exists mailroom.outbox_due_idx;
create index outbox_due_idx on mailroom.outbox (priority desc, send_after, id)
  where phase in ('pending', 'retrying');

create index if not exists outbox_phase_list_idx on mailroom.outbox (phase, created_at desc, id desc);
drop index if exists mailroom.outbox_status_list_idx;
drop index if exists mailroom.outbox_lease_idx;

-- The dashboard's backlog probe (0020), on the new due index.
create or replace function mailroom.backlog_now(cap int) returns table (due int, oldest_due_seconds double precision)
language sql stable as $$
  select (select count(*)::int from (select 1 from mailroom.outbox o
                                      where o.phase in ('pending', 'retrying') and o.send_after <= now()
                                      limit cap) d),
         (select extract(epoch from now() - min(f.send_after))::float8
            from generate_series(-100, 100) p(priority)
           cross join lateral (select o.send_after from mailroom.outbox o
                                where o.phase in ('pending', 'retrying') and o.priority = p.priority and o.send_after <= now()
                                order by o.send_after limit 1) f)
$$;
