-- SQL producers get what TypeScript producers have: a traceparent for the send span
-- (validated as enqueue() in TypeScript does), a fan-out in one statement with
-- all-or-nothing validation (enqueue_many, as enqueueMany()), and a way to ask
-- whether an address is suppressed before enqueuing (the row still ends
-- `suppressed` at send if it is). The empty idempotency key is refused, as in
-- TypeScript.

-- A new trailing parameter: the old signature goes, or a call without it would be
-- ambiguous between the two.
drop function mailroom.enqueue(text, text, jsonb, text, timestamptz, int, timestamptz, text);

create function mailroom.enqueue(
  template        text,
  recipient       text,
  props           jsonb,
  idempotency_key text default null,
  send_after      timestamptz default now(),
  priority        int default null,
  not_after       timestamptz default null,
  locale          text default null,
  traceparent     text default null
) returns uuid
language plpgsql as $$
declare
  t        mailroom.template;
  missing  text[];
  bad_key  text;
  want     text;
  new_id   uuid;
begin
  select * into t from mailroom.template where name = enqueue.template;
  if not found then
    raise exception 'mailroom.enqueue: unknown template "%"', enqueue.template
      using errcode = '22023', detail = 'field=template';
  end if;
  if recipient is null then
    raise exception 'mailroom.enqueue: recipient is required'
      using errcode = '22023', detail = 'field=to';
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
  -- JSON types of the props the template declares (from its zod schema); the
  -- worker's render checks the finer rules and fails the row naming the prop.
  select k, t.prop_types ->> k into bad_key, want
    from jsonb_object_keys(t.prop_types) k
   where props ? k and props -> k <> 'null'::jsonb
     and not (case t.prop_types ->> k
                when 'integer' then jsonb_typeof(props -> k) = 'number' and (props ->> k)::numeric % 1 = 0
                else jsonb_typeof(props -> k) = t.prop_types ->> k end)
   order by k limit 1;
  if bad_key is not null then
    raise exception 'mailroom.enqueue: prop "%" must be a JSON %, got %', bad_key, want, jsonb_typeof(props -> bad_key)
      using errcode = '22023', detail = 'field=props.' || bad_key;
  end if;
  bad_key := null;
  select e.key into bad_key from jsonb_each_text(props) e
   where e.key = any(t.header_props) and e.value ~ '[\r\n]' limit 1;
  if bad_key is not null then
    raise exception 'mailroom.enqueue: prop "%" goes into a header and contains a line break', bad_key
      using errcode = '22023', detail = 'field=props.' || bad_key;
  end if;
  if idempotency_key ~ '[\r\n]' or length(idempotency_key) not between 1 and 200 then
    raise exception 'mailroom.enqueue: idempotency_key must be one line of 1 to 200 characters'
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
  if traceparent is not null and traceparent !~ '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' then
    raise exception 'mailroom.enqueue: traceparent must be a W3C traceparent like 00-<32 hex>-<16 hex>-01'
      using errcode = '22023', detail = 'field=traceparent';
  end if;

  insert into mailroom.outbox as o
    (template, recipient, props, idempotency_key, send_after, priority, max_attempts, not_after, locale, traceparent)
  values
    (t.name, recipient, props, idempotency_key, send_after, coalesce(priority, t.priority), t.max_attempts,
     coalesce(not_after, now() + t.ttl), locale, traceparent)
  on conflict on constraint outbox_idempotency_key_key do nothing
  returning o.id into new_id;

  if new_id is null then
    -- Same key enqueued before: that row is the email; return its id.
    select o.id into new_id from mailroom.outbox o where o.idempotency_key = enqueue.idempotency_key;
  end if;
  return new_id;
end
$$;

-- Many emails in one call, inside the caller's transaction. Each element is an object
-- with the keys of enqueue() (`to` for the recipient, as in TypeScript); every email
-- is validated by enqueue() itself, and the first refusal raises with the element's
-- index in the field (`field=2.props.token`, as enqueueMany() names `2.props.token`).
-- A raise aborts the whole statement, so either every email is written or none.
-- Returns the ids in input order (an idempotency key already taken: that row's id).
create function mailroom.enqueue_many(emails jsonb) returns uuid[]
language plpgsql as $$
declare
  email     jsonb;
  position  int := 0;
  ids       uuid[] := '{}';
  unknown   text;
  message   text;
  field     text;
  at        timestamptz;
  until     timestamptz;
  rank      int;
begin
  if emails is null or jsonb_typeof(emails) <> 'array' then
    raise exception 'mailroom.enqueue_many: emails must be a JSON array of objects'
      using errcode = '22023', detail = 'field=emails';
  end if;
  for email in select value from jsonb_array_elements(emails) loop
    if jsonb_typeof(email) <> 'object' then
      raise exception 'mailroom.enqueue_many: email % must be a JSON object', position
        using errcode = '22023', detail = 'field=' || position;
    end if;
    select k into unknown from jsonb_object_keys(email) k
     where k not in ('template', 'to', 'props', 'idempotency_key', 'send_after', 'priority', 'not_after', 'locale', 'traceparent')
     order by k limit 1;
    if unknown is not null then
      raise exception 'mailroom.enqueue_many: email % has an unknown key "%"', position, unknown
        using errcode = '22023', detail = 'field=' || position || '.' || unknown;
    end if;
    -- The typed keys, each cast on its own so a bad value names its key.
    field := 'send_after';
    begin
      at := coalesce((email ->> 'send_after')::timestamptz, now());
      field := 'not_after';
      until := (email ->> 'not_after')::timestamptz;
      field := 'priority';
      rank := (email ->> 'priority')::int;
    exception when invalid_datetime_format or datetime_field_overflow or invalid_text_representation or numeric_value_out_of_range then
      raise exception 'mailroom.enqueue_many: email %: % is not a valid %', position, field,
          case field when 'priority' then 'integer' else 'timestamp with a time zone' end
        using errcode = '22023', detail = 'field=' || position || '.' || field;
    end;
    begin
      ids := ids || mailroom.enqueue(
        template        => email ->> 'template',
        recipient       => email ->> 'to',
        props           => email -> 'props',
        idempotency_key => email ->> 'idempotency_key',
        send_after      => at,
        priority        => rank,
        not_after       => until,
        locale          => email ->> 'locale',
        traceparent     => email ->> 'traceparent');
    exception when sqlstate '22023' then
      get stacked diagnostics message = message_text, field = pg_exception_detail;
      raise exception '%', replace(message, 'mailroom.enqueue:', format('mailroom.enqueue_many: email %s:', position))
        using errcode = '22023', detail = 'field=' || position || '.' || substr(field, length('field=') + 1);
    end;
    position := position + 1;
  end loop;
  return ids;
end
$$;

-- Is this address on the suppression list? (compared in the list's normal form, as the
-- sender does). A producer may skip the enqueue; one that does not still gets a row that
-- ends `suppressed` at send.
create function mailroom.is_suppressed(address text) returns boolean
language sql stable as $$
  select exists (select 1 from mailroom.suppression s where s.address = mailroom.normalize_address(is_suppressed.address))
$$;
