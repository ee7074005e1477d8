-- What TypeScript stores, SQL stores (issue 13). enqueue() in TypeScript writes
-- zod's output: strings of a .trim() schema trimmed, unknown keys of a plain
-- z.object() dropped. mailroom.enqueue() in SQL stored the props as given, so the
-- same email enqueued from Python and from TypeScript left different rows (a
-- padded name, an extra key a producer passed by mistake). mailroom.shape_props()
-- applies the same two rewrites, read from the stored schema (`stripUnknown`, set by
-- `mailroom migrate` from this release on; a catalogue synced before keeps what it
-- had until its next migrate, which every `mailroom migrate` does).

-- `value` as zod's parse returns it, for a value that passed mailroom.check_props().
create function mailroom.shape_props(schema jsonb, value jsonb) returns jsonb
language plpgsql immutable parallel safe as $$
declare
  kind    text := jsonb_typeof(value);
  shaped  jsonb;
begin
  if schema ? 'enum' or kind = 'null' then
    return value;
  end if;
  if kind = 'string' then
    if exists (select 1 from jsonb_array_elements(schema -> 'checks') c where c ->> 0 = 'trim') then
      return to_jsonb(btrim(value #>> '{}', U&'\0009\000A\000B\000C\000D\0020\00A0\1680\2000\2001\2002\2003\2004\2005\2006\2007\2008\2009\200A\2028\2029\202F\205F\3000\FEFF'));
    end if;
    return value;
  end if;
  if kind = 'array' and schema ? 'items' then
    select coalesce(jsonb_agg(mailroom.shape_props(schema -> 'items', e) order by o), '[]') into shaped
      from jsonb_array_elements(value) with ordinality as a(e, o);
    return shaped;
  end if;
  if kind = 'object' and schema ? 'properties' then
    select coalesce(jsonb_object_agg(v.key, case when p.node is null then v.value else mailroom.shape_props(p.node, v.value) end), '{}') into shaped
      from jsonb_each(value) v
      left join lateral (select pair -> 1 as node from jsonb_array_elements(schema -> 'properties') pair where pair ->> 0 = v.key) p on true
     where p.node is not null or not (schema ? 'stripUnknown');
    return shaped;
  end if;
  return value;
end
$$;

-- 0010's enqueue, storing the shaped props.
create or replace function mailroom.enqueue(
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
  failure  text[];
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
  select e.key into bad_key from jsonb_each_text(props) e
   where e.key = any(t.header_props) and jsonb_typeof(props -> e.key) = 'string' and e.value ~ '[\r\n]'
   order by array_position(t.header_props, e.key) limit 1;
  if bad_key is not null then
    raise exception 'mailroom.enqueue: prop "%" goes into a header and contains a line break', bad_key
      using errcode = '22023', detail = 'field=props.' || bad_key;
  end if;
  if t.props_schema is not null then
    failure := mailroom.check_props(t.props_schema, props, 'props');
    if failure is not null then
      raise exception 'mailroom.enqueue: template "%": % %', t.name, failure[1], failure[2]
        using errcode = '22023', detail = 'field=' || failure[1];
    end if;
    -- What TypeScript stores is zod's output: store the same.
    props := mailroom.shape_props(t.props_schema, props);
  else
    select array_agg(k order by k) into missing
      from unnest(t.required_props) k
     where not (props ? k) or props -> k = 'null'::jsonb;
    if missing is not null then
      raise exception 'mailroom.enqueue: template "%" needs props %', t.name, array_to_string(missing, ', ')
        using errcode = '22023', detail = 'field=props.' || missing[1];
    end if;
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
    select o.id into new_id from mailroom.outbox o where o.idempotency_key = enqueue.idempotency_key;
  end if;
  return new_id;
end
$$;
