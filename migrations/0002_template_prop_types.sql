-- SQL producers are held to the props' JSON types too, not only to their presence:
-- mailroom migrate fills prop_types from each template's zod schema.
alter table mailroom.template add column prop_types jsonb not null default '{}'
  check (jsonb_typeof(prop_types) = 'object');

create or replace function mailroom.enqueue(
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
  want     text;
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
