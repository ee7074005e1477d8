-- One rule set, two enforcers: mailroom.enqueue() in SQL checks props against the
-- template's own zod schema, as enqueue() in TypeScript does, and names the same
-- field. `mailroom migrate` derives the check from the schema
-- (src/templates/sql-schema.ts) and stores it in mailroom.template.props_schema;
-- what the SQL side cannot check exactly is refused there, so no template ships
-- with a SQL check silently weaker than TypeScript's.
--
-- The stored form is a small JSON Schema dialect (see sql-schema.ts): properties is
-- an array of [key, schema] pairs, because jsonb keeps no key order and zod reports
-- the first failing key in the schema's order; string checks are an ordered list,
-- because zod's .trim() changes what the checks after it see. Lengths are counted in
-- characters (code points), as this zod counts them (util.codePointLength: an emoji is
-- one, not two UTF-16 units). Patterns are matched on a string where each character
-- outside the BMP stands as two U+E000, because a JavaScript RegExp without the u
-- flag sees it as two UTF-16 units.

alter table mailroom.template add column props_schema jsonb;
comment on column mailroom.template.props_schema is
  'The props check mailroom.enqueue() applies (from the template''s zod schema, by mailroom migrate); null: only required keys and JSON types';

-- A string as JavaScript counts and matches it: each character outside the BMP (two
-- UTF-16 units there) becomes two U+E000.
create function mailroom.js_units(s text) returns text
language sql immutable parallel safe as $$
  select case when s ~ '[\U00010000-\U0010FFFF]' then regexp_replace(s, '[\U00010000-\U0010FFFF]', U&'\E000\E000', 'g') else s end
$$;

-- The first failure of `value` against `schema` (the stored form), as {field, message};
-- null when it passes. Walks in zod's order: an object's keys in the schema's order, an
-- array's items before its own length checks (but an array over its upper bound fails
-- on that first, as zod does), a value's checks in the order declared.
create function mailroom.check_props(schema jsonb, value jsonb, path text) returns text[]
language plpgsql immutable parallel safe as $$
declare
  kind     text := jsonb_typeof(value);
  types    jsonb := schema -> 'type';
  want     text;
  c        jsonb;
  s        text;
  units    text;
  n        numeric;
  bound    numeric;
  pair     jsonb;
  key      text;
  failure  text[];
  item     jsonb;
  position int;
  extra    text;
  failed   boolean;
begin
  if schema ? 'enum' then
    if not exists (select 1 from jsonb_array_elements(check_props.schema -> 'enum') e where e = check_props.value) then
      return array[path, format('must be one of %s', (select string_agg(e::text, ', ') from jsonb_array_elements(schema -> 'enum') e))];
    end if;
    return null;
  end if;
  if types is null then
    return null;
  end if;
  if kind = 'null' and types ? 'null' then
    return null;
  end if;
  want := types ->> 0;
  if not (types ? kind or (kind = 'number' and types ? 'integer' and (value::text::numeric) % 1 = 0)) then
    return array[path, format('must be a JSON %s, got %s', want, case when kind = 'number' and want = 'integer' then 'a fraction' else kind end)];
  end if;

  if kind = 'string' then
    s := value #>> '{}';
    units := mailroom.js_units(s);
    for c in select e from jsonb_array_elements(coalesce(schema -> 'checks', '[]')) e loop
      case c ->> 0
        when 'trim' then
          s := btrim(s, U&'\0009\000A\000B\000C\000D\0020\00A0\1680\2000\2001\2002\2003\2004\2005\2006\2007\2008\2009\200A\2028\2029\202F\205F\3000\FEFF');
          units := mailroom.js_units(s);
        when 'minLength' then
          if length(s) < (c ->> 1)::int then
            return array[path, format('must be at least %s characters', c ->> 1)];
          end if;
        when 'maxLength' then
          if length(s) > (c ->> 1)::int then
            return array[path, format('must be at most %s characters', c ->> 1)];
          end if;
        when 'length' then
          if length(s) <> (c ->> 1)::int then
            return array[path, format('must be exactly %s characters', c ->> 1)];
          end if;
        when 'pattern' then
          if units !~ (c ->> 1) then
            return array[path, case c ->> 2 when 'pattern' then 'does not match the pattern' else format('must be a valid %s', c ->> 2) end];
          end if;
        else
          raise exception 'mailroom.check_props: unknown string check %', c ->> 0;
      end case;
    end loop;
    return null;
  end if;

  if kind = 'number' then
    n := value::text::numeric;
    for c in select e from jsonb_array_elements(coalesce(schema -> 'checks', '[]')) e loop
      bound := (c ->> 1)::numeric;
      failed := case c ->> 0
           when 'minimum' then n < bound
           when 'maximum' then n > bound
           when 'exclusiveMinimum' then n <= bound
           when 'exclusiveMaximum' then n >= bound
           when 'multipleOf' then n % bound <> 0
         end;
      if failed then
        return array[path, format('must be %s %s', case c ->> 0
            when 'minimum' then 'at least' when 'maximum' then 'at most'
            when 'exclusiveMinimum' then 'more than' when 'exclusiveMaximum' then 'less than'
            else 'a multiple of' end, c ->> 1)];
      end if;
    end loop;
    return null;
  end if;

  if kind = 'array' then
    -- zod fails an oversized array on its upper bound before it parses any item
    -- (capSize in zod's $ZodArray); otherwise items first, then the array's checks.
    for c in select e from jsonb_array_elements(coalesce(schema -> 'checks', '[]')) e loop
      if c ->> 0 in ('maxItems', 'itemCount') and jsonb_array_length(value) > (c ->> 1)::int then
        return array[path, format('must have %s %s items', case c ->> 0 when 'maxItems' then 'at most' else 'exactly' end, c ->> 1)];
      end if;
    end loop;
    if schema ? 'items' then
      for item, position in select e, o::int - 1 from jsonb_array_elements(value) with ordinality as a(e, o) loop
        failure := mailroom.check_props(schema -> 'items', item, path || '.' || position);
        if failure is not null then
          return failure;
        end if;
      end loop;
    end if;
    for c in select e from jsonb_array_elements(coalesce(schema -> 'checks', '[]')) e loop
      failed := case c ->> 0
           when 'minItems' then jsonb_array_length(value) < (c ->> 1)::int
           when 'maxItems' then jsonb_array_length(value) > (c ->> 1)::int
           when 'itemCount' then jsonb_array_length(value) <> (c ->> 1)::int
         end;
      if failed then
        return array[path, format('must have %s %s items', case c ->> 0 when 'minItems' then 'at least' when 'maxItems' then 'at most' else 'exactly' end, c ->> 1)];
      end if;
    end loop;
    return null;
  end if;

  if kind = 'object' then
    for pair in select e from jsonb_array_elements(coalesce(schema -> 'properties', '[]')) e loop
      key := pair ->> 0;
      if not (value ? key) then
        if coalesce(schema -> 'required', '[]') ? key then
          return array[path || '.' || key, 'is required'];
        end if;
        continue;
      end if;
      failure := mailroom.check_props(pair -> 1, value -> key, path || '.' || key);
      if failure is not null then
        return failure;
      end if;
    end loop;
    if schema -> 'additionalProperties' = 'false'::jsonb then
      select string_agg(format('"%s"', k), ', ' order by k) into extra
        from jsonb_object_keys(check_props.value) k
       where not exists (select 1 from jsonb_array_elements(schema -> 'properties') p where p ->> 0 = k);
      if extra is not null then
        return array[path, format('has unknown keys %s', extra)];
      end if;
    end if;
    return null;
  end if;
  return null;
end
$$;

-- 0009's enqueue, with the template's props check: the header props first (as
-- TypeScript does before the schema), then the schema walk when the template has
-- one (else 0009's required keys and JSON types, for a catalogue synced before 0010).
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
