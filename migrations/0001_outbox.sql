-- mailroom's schema: the outbox, its audit trail, the template catalogue and the
-- suppression list. Applied by `mailroom migrate` (Kysely's Migrator runs each file
-- of migrations/ once, in name order, inside a transaction).

create schema if not exists mailroom;

-- The catalogue of templates the code knows. `mailroom migrate` upserts one row per
-- template of src/templates/catalogue.ts, so SQL producers are checked against the
-- same names, required props and delivery policy as TypeScript ones.
create table mailroom.template (
  name           text primary key check (name ~ '^[a-z0-9][a-z0-9-]*$'),
  required_props text[] not null default '{}',
  -- Props that end up in a header (the subject): a line break there is header injection.
  header_props   text[] not null default '{}',
  priority       int not null default 0,
  max_attempts   int not null default 5 check (max_attempts between 1 and 50),
  -- How long after enqueue an email of this template is still worth sending.
  ttl            interval,
  updated_at     timestamptz not null default now()
);

create table mailroom.outbox (
  id                  uuid primary key default gen_random_uuid(),
  template            text not null references mailroom.template (name),
  recipient           text not null,
  props               jsonb not null default '{}',
  locale              text,
  status              text not null default 'pending',
  attempts            int not null default 0,
  max_attempts        int not null default 5,
  idempotency_key     text unique,
  priority            int not null default 0,
  send_after          timestamptz not null default now(),
  not_after           timestamptz,
  created_at          timestamptz not null default now(),
  queued_at           timestamptz,
  sent_at             timestamptz,
  -- The pg-boss job that currently carries this row. A new id per hand-off: pg-boss
  -- ignores an insert whose id exists, so reusing one would make a replay vanish.
  job_id              uuid,
  last_error          text,
  provider_message_id text,
  updated_at          timestamptz not null default now(),
  constraint outbox_status_known check (status in (
    'pending', 'queued', 'sending', 'retrying', 'sent', 'failed', 'cancelled', 'suppressed', 'expired')),
  constraint outbox_attempts_bounded check (attempts >= 0 and max_attempts >= 1),
  constraint outbox_priority_bounded check (priority between -100 and 100),
  constraint outbox_recipient_single_line check (recipient !~ '[\r\n]' and length(recipient) <= 254),
  constraint outbox_idempotency_key_single_line check (idempotency_key !~ '[\r\n]' and length(idempotency_key) <= 200),
  constraint outbox_props_object check (jsonb_typeof(props) = 'object'),
  constraint outbox_locale_tag check (locale ~ '^[a-z]{2}(-[A-Z]{2})?$')
);

-- The relay's claim reads only this index: due rows are few even when history is
-- huge, so the claim costs what the backlog costs, not what the table holds.
-- status is not a key column, so a flip from pending to queued removes the row
-- from the partial index without touching the other indexes.
create index outbox_due_idx on mailroom.outbox (priority desc, send_after, id)
  where status in ('pending', 'retrying');

-- The sweeper's view of rows handed to pg-boss and not yet settled.
create index outbox_in_flight_idx on mailroom.outbox (queued_at)
  where status in ('queued', 'sending');

-- Audit lookups: one address's mail, one template's failures.
create index outbox_recipient_idx on mailroom.outbox (lower(recipient), created_at desc);
create index outbox_status_created_idx on mailroom.outbox (status, created_at desc);

-- Hot table: updated several times per email. Leave room on each page so status
-- flips can be HOT updates, and vacuum early so dead tuples stay flat.
alter table mailroom.outbox set (
  fillfactor = 80,
  autovacuum_vacuum_scale_factor = 0.02,
  autovacuum_analyze_scale_factor = 0.02
);

-- One row per try, append-only. Never updated, so it needs no free space per page.
create table mailroom.delivery_attempt (
  id                  bigint generated always as identity primary key,
  outbox_id           uuid not null references mailroom.outbox (id) on delete cascade,
  attempt             int not null check (attempt >= 1),
  transport           text not null,
  outcome             text not null check (outcome in ('sent', 'retry', 'failed')),
  error_class         text check (error_class in ('transient', 'permanent', 'throttled', 'ambiguous', 'config')),
  provider_message_id text,
  message_id          text,
  response_code       int,
  response            text,
  error_message       text,
  started_at          timestamptz not null,
  finished_at         timestamptz not null default now()
);
create index delivery_attempt_outbox_idx on mailroom.delivery_attempt (outbox_id, attempt);
create index delivery_attempt_finished_idx on mailroom.delivery_attempt (finished_at);

create table mailroom.suppression (
  address    text primary key check (address = lower(address)),
  reason     text not null,
  source     text not null default 'manual',
  created_at timestamptz not null default now()
);

-- The address rule shared by enqueue() and the TypeScript validator
-- (src/outbox/validate.ts): one @, no whitespace or control characters, a dotted domain.
create function mailroom.is_valid_address(address text) returns boolean
language sql immutable parallel safe as $$
  select address is not null
     and length(address) <= 254
     and address ~ '^[^\s@<>()\[\],;:"\\\x01-\x1f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$'
$$;

-- Enqueue from any SQL client, inside its own transaction. Validates like
-- enqueueEmail() in TypeScript and writes one row, or raises and writes nothing.
-- Errors carry the offending field in DETAIL as `field=<name>`.
create function mailroom.enqueue(
  template        text,
  recipient       text,
  props           jsonb,
  idempotency_key text default null,
  send_after      timestamptz default now(),
  priority        int default null,
  not_after       timestamptz default null,
  locale          text default null
) returns uuid
language plpgsql as $$
declare
  t        mailroom.template;
  missing  text[];
  bad_key  text;
  new_id   uuid;
begin
  select * into t from mailroom.template where name = enqueue.template;
  if not found then
    raise exception 'mailroom.enqueue: unknown template "%"', enqueue.template
      using errcode = '22023', detail = 'field=template';
  end if;
  if recipient ~ '[\r\n]' then
    raise exception 'mailroom.enqueue: recipient contains a line break'
      using errcode = '22023', detail = 'field=to';
  end if;
  if not mailroom.is_valid_address(recipient) then
    raise exception 'mailroom.enqueue: malformed address "%"', recipient
      using errcode = '22023', detail = 'field=to';
  end if;
  if props is null or jsonb_typeof(props) <> 'object' then
    raise exception 'mailroom.enqueue: props must be a JSON object'
      using errcode = '22023', detail = 'field=props';
  end if;
  if octet_length(props::text) > 65536 then
    raise exception 'mailroom.enqueue: props are % bytes, over the 64 KiB limit', octet_length(props::text)
      using errcode = '22023', detail = 'field=props';
  end if;
  select array_agg(k order by k) into missing
    from unnest(t.required_props) k
   where not (props ? k) or props -> k = 'null'::jsonb;
  if missing is not null then
    raise exception 'mailroom.enqueue: template "%" needs props %', t.name, array_to_string(missing, ', ')
      using errcode = '22023', detail = 'field=props.' || missing[1];
  end if;
  select e.key into bad_key from jsonb_each_text(props) e
   where e.key = any(t.header_props) and e.value ~ '[\r\n]' limit 1;
  if bad_key is not null then
    raise exception 'mailroom.enqueue: prop "%" goes into a header and contains a line break', bad_key
      using errcode = '22023', detail = 'field=props.' || bad_key;
  end if;
  if idempotency_key ~ '[\r\n]' or length(idempotency_key) > 200 then
    raise exception 'mailroom.enqueue: idempotency_key must be one line of at most 200 characters'
      using errcode = '22023', detail = 'field=idempotency_key';
  end if;
  if send_after is null then
    raise exception 'mailroom.enqueue: send_after must not be null'
      using errcode = '22023', detail = 'field=send_after';
  end if;
  if priority is not null and priority not between -100 and 100 then
    raise exception 'mailroom.enqueue: priority % is outside -100..100', priority
      using errcode = '22023', detail = 'field=priority';
  end if;
  if locale is not null and locale !~ '^[a-z]{2}(-[A-Z]{2})?$' then
    raise exception 'mailroom.enqueue: locale "%" is not a language tag like en or pt-BR', locale
      using errcode = '22023', detail = 'field=locale';
  end if;

  insert into mailroom.outbox as o
    (template, recipient, props, idempotency_key, send_after, priority, max_attempts, not_after, locale)
  values
    (t.name, recipient, props, idempotency_key, send_after, coalesce(priority, t.priority), t.max_attempts,
     coalesce(not_after, now() + t.ttl), locale)
  on conflict on constraint outbox_idempotency_key_key do nothing
  returning o.id into new_id;

  if new_id is null then
    -- Same key enqueued before: that row is the email; return its id.
    select o.id into new_id from mailroom.outbox o where o.idempotency_key = enqueue.idempotency_key;
  end if;
  return new_id;
end
$$;

-- Put a finished row back in line. Failed, expired and cancelled rows by default;
-- a sent row only with resend => true. Its attempts stay in delivery_attempt, and
-- it gets a fresh budget of max_attempts tries. Returns false when the row is in
-- a state that cannot be replayed (already pending, in flight, or sent without the flag).
create function mailroom.replay(id uuid, resend boolean default false) returns boolean
language plpgsql as $$
declare
  changed int;
begin
  if not exists (select 1 from mailroom.outbox o where o.id = replay.id) then
    raise exception 'mailroom.replay: no outbox row %', replay.id
      using errcode = 'P0002', detail = 'field=id';
  end if;
  update mailroom.outbox o
     set status = 'pending', send_after = now(), job_id = null, queued_at = null,
         max_attempts = o.attempts + t.max_attempts, not_after = null,
         last_error = null, updated_at = now()
    from mailroom.template t
   where o.id = replay.id and t.name = o.template
     and (o.status in ('failed', 'expired', 'cancelled') or (resend and o.status = 'sent'));
  get diagnostics changed = row_count;
  return changed = 1;
end
$$;
