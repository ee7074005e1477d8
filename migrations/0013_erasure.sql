-- Erasure (issue 14): `mailroom forget <address>`, and mailroom.forget(address) for
-- any SQL client, take one person's address out of every table of this schema,
-- in short batches, and keep the rows the metrics and the audit views count.
--
-- What happens to each place the address can be (docs/operations.md, "Erasure"):
-- - mailroom.outbox, rows to the address (compared by mailroom.normalize_address,
--   as the suppression list compares): recipient becomes erased@erased.invalid
--   (mailroom.erased_address(): the same for everyone, so nothing about the address
--   can be read back from it; not a hash, which anyone who knows the address could
--   recompute), props become '{}' (they may hold the address or the person's name),
--   a non-null idempotency key becomes 'erased:<row id>' (unique as before), and
--   the address is cut out of last_error. Rows not sent yet (pending, queued,
--   retrying) are cancelled first: a row addressed to nobody must never go out. A
--   row being sent right now (sending) is left as it is, and counted in rows_left,
--   for a later run. Settled rows keep their status, attempts, timestamps and
--   updated_at, so the audit views count them as before and `mailroom purge`
--   deletes them on their usual schedule.
-- - mailroom.delivery_attempt: the attempts of those rows stay (they are the audit
--   trail); the address is cut out of their text (an SMTP refusal quotes it:
--   "550 5.1.1 <ada@example.test>: ..."), in every text or JSON column.
-- - mailroom.delivery_event: events about the address, or about its rows, keep
--   their provider, type, time and outcome; address becomes the erased address,
--   payload '{}', event_key null (an md5 of fields that include the address: it
--   could be recomputed from it), and the address is cut out of reason.
-- - mailroom.suppression: its entry is deleted (its key is the address), last, once
--   no row of the address is left, so that no due row is sent for lack of it; so
--   are its opt-outs (mailroom.opt_out, 0016) where that table exists.
-- - mailroom.rate_limit holds domains and transports, never addresses; pg-boss jobs
--   carry only the outbox id (src/queue/send-queue.ts): neither is touched.
-- - mailroom.erasure (below) records that an erasure happened, never the address.

-- What erased rows are addressed to. A valid address (mailroom.is_valid_address), one
-- line and short, as the outbox's checks want, in .invalid, a top-level domain that
-- is never delegated (RFC 2606): nothing sent to it can reach anyone.
create function mailroom.erased_address() returns text
language sql immutable parallel safe as $$ select 'erased@erased.invalid'::text $$;

-- One row per erasure that changed something. A run of several calls (the CLI
-- passes the id back) adds to one row; a run that finds nothing writes none.
create table mailroom.erasure (
  id               bigint generated always as identity primary key,
  started_at       timestamptz not null default now(),
  -- When the run's last call found nothing more it could take.
  finished_at      timestamptz,
  -- Who or what asked, as the caller says (a ticket, a request id); never the address.
  requested_by     text constraint erasure_requested_by_single_line
                     check (requested_by !~ '[\r\n]' and length(requested_by) between 1 and 200),
  -- The database role and the client (application_name: mailroom-cli, psql, ...) that ran it.
  db_user          text not null default session_user,
  application      text default nullif(current_setting('application_name', true), ''),
  -- Rows changed, per table: outbox rows anonymised (cancelled_rows of them were
  -- not sent yet), attempts of those rows, provider events, entries keyed by the
  -- address deleted (the suppression list, and the opt-outs of 0016).
  outbox_rows      int not null default 0,
  cancelled_rows   int not null default 0,
  attempt_rows     int not null default 0,
  event_rows       int not null default 0,
  suppression_rows int not null default 0,
  -- Rows of the address left when it finished (being sent right now): run it again.
  rows_left        int not null default 0
);
comment on table mailroom.erasure is
  'Erasures done by mailroom.forget(): when, by whom, how many rows of each table; never the address (migrations/0013)';

-- Finding an address's rows. The existing indexes are on lower(recipient) and
-- lower(address), and lower() depends on the database's locale: under C it leaves
-- every non-ASCII capital alone, and under any locale ſ and ı are lower case already,
-- so lower() keeps them while normalize_address folds them to s and i. So lower()
-- finds the ASCII rows (for them, outside Turkic locales, lower() is
-- normalize_address), and these partial indexes the others: only rows whose address
-- is not pure ASCII (octet_length <> length), a handful. They cost the hot path a
-- comparison of two lengths per insert and non-HOT update, and an index entry for
-- the rare non-ASCII address (measured here: 300,000 ASCII inserts took as long with
-- the outbox's index as without, within this machine's noise of about 15%; a call
-- of mailroom.forget() on an outbox of 200,000 rows took 10 to 30 ms). On a large
-- outbox this migration blocks writes while it builds them (a scan of the table):
-- build them beforehand with `create index concurrently if not exists` under the
-- same names, and it skips them.
create index if not exists outbox_recipient_folded_idx on mailroom.outbox (mailroom.normalize_address(recipient))
  where octet_length(recipient) <> length(recipient);
create index if not exists delivery_event_address_folded_idx on mailroom.delivery_event (mailroom.normalize_address(address))
  where octet_length(address) <> length(address);

-- The outbox rows to an address, as mailroom compares addresses, through the
-- indexes above. Under a Turkic locale (lower('I') is dotless ı there) lower()
-- cannot be trusted even for ASCII, and the whole table is read instead.
create function mailroom.outbox_rows_to(address text) returns setof uuid
language plpgsql stable as $$
declare
  folded constant text := mailroom.normalize_address(address);
begin
  if lower('ABCDEFGHIJKLMNOPQRSTUVWXYZ') = 'abcdefghijklmnopqrstuvwxyz' then
    return query
      select o.id from mailroom.outbox o
       where lower(o.recipient) = folded and mailroom.normalize_address(o.recipient) = folded
      union
      select o.id from mailroom.outbox o
       where octet_length(o.recipient) <> length(o.recipient) and mailroom.normalize_address(o.recipient) = folded;
  else
    return query select o.id from mailroom.outbox o where mailroom.normalize_address(o.recipient) = folded;
  end if;
end
$$;

-- The provider events about an address, the same way.
create function mailroom.delivery_events_about(address text) returns setof bigint
language plpgsql stable as $$
declare
  folded constant text := mailroom.normalize_address(address);
begin
  if lower('ABCDEFGHIJKLMNOPQRSTUVWXYZ') = 'abcdefghijklmnopqrstuvwxyz' then
    return query
      select e.id from mailroom.delivery_event e
       where lower(e.address) = folded and mailroom.normalize_address(e.address) = folded
      union
      select e.id from mailroom.delivery_event e
       where octet_length(e.address) <> length(e.address) and mailroom.normalize_address(e.address) = folded;
  else
    return query select e.id from mailroom.delivery_event e where mailroom.normalize_address(e.address) = folded;
  end if;
end
$$;

-- `value` with every occurrence of the address `folded` (in its normal form), in any
-- case, replaced by the erased address; `value` itself when it holds none. Simple case
-- folding maps each character to one character, so a match in the folded text is at
-- the same place in the text; only i + U+0307 folds two characters into one, and a
-- text that has one is replaced whole rather than cut at the wrong place.
create function mailroom.erase_address_in(value text, folded text) returns text
language plpgsql immutable parallel safe as $$
declare
  haystack text;
  at       int;
  after    int := 1;
  erased   constant text := mailroom.erased_address();
begin
  if value is null or folded is null or folded = '' then
    return value;
  end if;
  haystack := mailroom.normalize_address(value);
  if strpos(haystack, folded) = 0 then
    return value;
  end if;
  if strpos(value, chr(775)) > 0 then
    return '[erased: this text quoted an erased address]';
  end if;
  loop
    at := strpos(substr(haystack, after), folded);
    exit when at = 0;
    at := after + at - 1;
    value := overlay(value placing erased from at for length(folded));
    haystack := overlay(haystack placing erased from at for length(folded));
    -- Search on after the replacement, so it can never match itself.
    after := at + length(erased);
  end loop;
  return value;
end
$$;

-- Cut the address out of every text and JSON column of the rows of `tbl` whose
-- `key_column` is one of `keys`, rewriting only the rows that still hold it
-- somewhere (their whole row as text). Whatever columns a table has or gains
-- (free text such as an SMTP reply), none is missed. Returns the rows rewritten.
create function mailroom.erase_address_from(tbl regclass, key_column name, keys text[], folded text) returns int
language plpgsql as $$
declare
  assignments text;
  key_type    text;
  changed     int;
begin
  select format_type(a.atttypid, a.atttypmod) into key_type
    from pg_attribute a where a.attrelid = tbl and a.attname = key_column and not a.attisdropped;
  if key_type is null then
    raise exception 'mailroom.erase_address_from: % has no column %', tbl, key_column;
  end if;
  select string_agg(format(case when a.atttypid in ('json'::regtype, 'jsonb'::regtype)
                                then '%1$I = mailroom.erase_address_in(t.%1$I::text, $1)::%2$s'
                                else '%1$I = mailroom.erase_address_in(t.%1$I::text, $1)' end,
                           a.attname, format_type(a.atttypid, a.atttypmod)), ', ' order by a.attnum)
    into assignments
    from pg_attribute a
   where a.attrelid = tbl and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
     and a.atttypid in ('text'::regtype, 'varchar'::regtype, 'json'::regtype, 'jsonb'::regtype);
  if assignments is null or keys is null or cardinality(keys) = 0 then
    return 0;
  end if;
  execute format('update %s t set %s where t.%I = any($2::%s[]) and strpos(mailroom.normalize_address(t::text), $1) > 0',
                 tbl, assignments, key_column, key_type)
    using folded, keys;
  get diagnostics changed = row_count;
  return changed;
end
$$;

-- Erase one address: one short transaction per call, at most batch_size outbox rows
-- and batch_size provider events (with the attempts and events of those rows). Call
-- it again while done is false, passing the erasure_id it returned so the run keeps
-- one record (the CLI does). done: nothing more to take now; rows_left: rows of the
-- address still holding it (being sent right now): run it again once they settle.
-- A call that finds nothing writes nothing and returns zeros (and erasure_id null
-- unless one was passed). Bad input raises with the field in DETAIL, as enqueue does;
-- the messages never repeat the address (errors reach the server's log).
create function mailroom.forget(
  address      text,
  requested_by text default null,
  batch_size   int default 1000,
  erasure      bigint default null
) returns table (erasure_id bigint, outbox_rows int, cancelled_rows int, attempt_rows int, event_rows int,
                 suppression_rows int, rows_left int, done boolean)
language plpgsql as $$
#variable_conflict use_column
declare
  v_address    constant text := forget.address;
  v_by         constant text := forget.requested_by;
  v_size       constant int := forget.batch_size;
  v_erasure    bigint := forget.erasure;
  v_erased     constant text := mailroom.erased_address();
  v_folded     text;
  v_rows       uuid[];
  v_events     bigint[];
  v_more       bigint[];
  n_outbox     int := 0;
  n_cancelled  int := 0;
  n_attempts   int := 0;
  n_events     int := 0;
  n_by_address int := 0;
  n_suppressed int := 0;
  n_left       int := 0;
  n_more       int;
  v_done       boolean;
begin
  if v_address is null then
    raise exception 'mailroom.forget: address is required'
      using errcode = '22023', detail = 'field=address';
  end if;
  if not mailroom.is_valid_address(v_address) then
    raise exception 'mailroom.forget: address is not an email address'
      using errcode = '22023', detail = 'field=address';
  end if;
  v_folded := mailroom.normalize_address(v_address);
  if v_folded = v_erased then
    raise exception 'mailroom.forget: % is what erased rows are addressed to, not an address to erase', v_erased
      using errcode = '22023', detail = 'field=address';
  end if;
  if v_size is null or v_size not between 1 and 100000 then
    raise exception 'mailroom.forget: batch_size must be from 1 to 100000'
      using errcode = '22023', detail = 'field=batch_size';
  end if;
  if v_by is not null and (v_by ~ '[\r\n]' or length(v_by) not between 1 and 200) then
    raise exception 'mailroom.forget: requested_by must be one line of 1 to 200 characters'
      using errcode = '22023', detail = 'field=requested_by';
  end if;
  if strpos(mailroom.normalize_address(v_by), v_folded) > 0 then
    raise exception 'mailroom.forget: requested_by must not contain the address being erased (say who asked: a ticket, a name of the team)'
      using errcode = '22023', detail = 'field=requested_by';
  end if;
  if v_erasure is not null and not exists (select 1 from mailroom.erasure e where e.id = v_erasure) then
    raise exception 'mailroom.forget: no erasure %', v_erasure
      using errcode = 'P0002', detail = 'field=erasure';
  end if;

  -- 1. A batch of the address's outbox rows, those still in line first, so the run
  -- stops mail going out before it anonymises history. SKIP LOCKED: a row the relay
  -- or a sender holds this instant is left for the next call, never waited for.
  with batch as (
    select o.id, o.status in ('pending', 'queued', 'retrying') as due
      from mailroom.outbox o
     where o.id in (select mailroom.outbox_rows_to(v_folded))
       and mailroom.normalize_address(o.recipient) = v_folded
       and o.status <> 'sending'
     order by (o.status in ('pending', 'queued', 'retrying')) desc, o.created_at, o.id
     limit v_size
       for update of o skip locked
  ), changed as (
    update mailroom.outbox o
       set recipient = v_erased,
           props = '{}',
           idempotency_key = case when o.idempotency_key is not null then 'erased:' || o.id end,
           -- job_id null, as `mailroom cancel` does: the job still in pg-boss finds
           -- no row of its own and sends nothing.
           status = case when batch.due then 'cancelled' else o.status end,
           job_id = case when batch.due then null else o.job_id end,
           last_error = case when batch.due then 'cancelled before it was sent: its recipient was erased (mailroom.forget)'
                             else mailroom.erase_address_in(o.last_error, v_folded) end,
           updated_at = case when batch.due then now() else o.updated_at end
      from batch
     where o.id = batch.id
    returning o.id, batch.due
  )
  select coalesce(array_agg(c.id), '{}'), count(*) filter (where c.due) into v_rows, n_cancelled from changed c;
  n_outbox := cardinality(v_rows);

  if n_outbox > 0 then
    -- Anything else of those rows that still holds the address (a column added later).
    perform mailroom.erase_address_from('mailroom.outbox', 'id', v_rows::text[], v_folded);
    -- Their attempts stay, without the address in their text.
    select count(*) into n_attempts from mailroom.delivery_attempt a where a.outbox_id = any(v_rows);
    perform mailroom.erase_address_from('mailroom.delivery_attempt', 'outbox_id', v_rows::text[], v_folded);
    -- Their provider events, whatever address they name.
    with changed as (
      update mailroom.delivery_event e
         set address = v_erased, payload = '{}', event_key = null, reason = mailroom.erase_address_in(e.reason, v_folded)
       where e.outbox_id = any(v_rows)
         and not (e.address = v_erased and e.payload = '{}' and e.event_key is null)
      returning e.id
    )
    select coalesce(array_agg(c.id), '{}') into v_events from changed c;
  else
    v_events := '{}';
  end if;

  -- 2. A batch of events about the address that name no row of this batch (a row
  -- purged since, an event without a CustomID).
  with batch as (
    select e.id
      from mailroom.delivery_event e
     where e.id in (select mailroom.delivery_events_about(v_folded))
       and mailroom.normalize_address(e.address) = v_folded
     limit v_size
       for update of e skip locked
  ), changed as (
    update mailroom.delivery_event e
       set address = v_erased, payload = '{}', event_key = null, reason = mailroom.erase_address_in(e.reason, v_folded)
      from batch
     where e.id = batch.id
    returning e.id
  )
  select coalesce(array_agg(c.id), '{}') into v_more from changed c;
  n_by_address := cardinality(v_more);
  v_events := v_events || v_more;
  n_events := cardinality(v_events);
  perform mailroom.erase_address_from('mailroom.delivery_event', 'id', v_events::text[], v_folded);

  v_done := n_outbox < v_size and n_by_address < v_size;
  select count(*) into n_left from mailroom.outbox o where o.id in (select mailroom.outbox_rows_to(v_folded));

  -- Last, once no row of the address is left: until then the entry still keeps a
  -- due row of it from being sent.
  if v_done and n_left = 0 then
    delete from mailroom.suppression s where s.address = v_folded;
    get diagnostics n_suppressed = row_count;
    -- The opt-outs by category (mailroom.opt_out, migration 0016), keyed by the
    -- address the same way, where that table exists.
    if to_regclass('mailroom.opt_out') is not null then
      execute 'delete from mailroom.opt_out o where o.address = $1' using v_folded;
      get diagnostics n_more = row_count;
      n_suppressed := n_suppressed + n_more;
    end if;
  end if;

  if n_outbox + n_attempts + n_events + n_suppressed > 0 then
    if v_erasure is null then
      insert into mailroom.erasure (requested_by, outbox_rows, cancelled_rows, attempt_rows, event_rows, suppression_rows)
      values (v_by, n_outbox, n_cancelled, n_attempts, n_events, n_suppressed)
      returning id into v_erasure;
    else
      update mailroom.erasure e
         set outbox_rows = e.outbox_rows + n_outbox,
             cancelled_rows = e.cancelled_rows + n_cancelled,
             attempt_rows = e.attempt_rows + n_attempts,
             event_rows = e.event_rows + n_events,
             suppression_rows = e.suppression_rows + n_suppressed
       where e.id = v_erasure;
    end if;
  end if;
  if v_done and v_erasure is not null then
    update mailroom.erasure e set finished_at = now(), rows_left = n_left where e.id = v_erasure;
  end if;

  erasure_id := v_erasure;
  outbox_rows := n_outbox;
  cancelled_rows := n_cancelled;
  attempt_rows := n_attempts;
  event_rows := n_events;
  suppression_rows := n_suppressed;
  rows_left := n_left;
  done := v_done;
  return next;
end
$$;

comment on function mailroom.forget(text, text, int, bigint) is
  'Erase an address from the mailroom schema, one batch per call: call again while done is false (docs/operations.md, Erasure; migrations/0013)';
