-- Per-row envelope (issue 14): a Reply-To and tags given at enqueue, on both
-- paths, over the template's own (envelope.replyTo, envelope.tags). The row's Reply-To
-- replaces the template's (an invitation's replies go to the inviter); its tags are
-- added to the template's. Checked as TypeScript checks them (src/templates/envelope.ts):
-- a mailbox is one line without control characters, "Name <address>" or an address,
-- spaces around it trimmed; a tag is 1-64 of a-z0-9_.- and there are at most 10.
alter table mailroom.outbox add column reply_to text, add column tags text[];
comment on column mailroom.outbox.reply_to is 'The Reply-To of this email, over its template''s; null: the template''s, if any';
comment on column mailroom.outbox.tags is 'Tags of this email for the provider, added to its template''s';

create function mailroom.is_valid_mailbox(mailbox text) returns boolean
language sql immutable parallel safe as $$
  select mailbox is not null
     and mailbox !~ '[\x01-\x1f\x7f]'
     and case when mailbox ~ '^ *("?[^"<>]*"? *)?<[^<>]+> *$'
              then mailroom.is_valid_address(substring(mailbox from '<([^<>]+)> *$'))
              else mailroom.is_valid_address(btrim(mailbox, ' ')) end
$$;

-- 0010's enqueue, storing the props as mailroom.shape_props() shapes them (0012)
-- and taking a Reply-To and tags. A new trailing pair of parameters: the old
-- signature goes, or a call without them would be ambiguous between the two.
drop function mailroom.enqueue(text, text, jsonb, text, timestamptz, int, timestamptz, text, text);

create function mailroom.enqueue(
  template        text,
  recipient       text,
  props           jsonb,
  idempotency_key text default null,
  send_after      timestamptz default now(),
  priority        int default null,
  not_after       timestamptz default null,
  locale          text default null,
  traceparent     text default null,
  reply_to        text default null,
  tags            text[] default null
) returns uuid
language plpgsql as $$
declare
  t        mailroom.template;
  missing  text[];
  bad_key  text;
  want     text;
  failure  text[];
  new_id   uuid;
  bad_tag  int;
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

  if reply_to is not null and not mailroom.is_valid_mailbox(reply_to) then
    raise exception 'mailroom.enqueue: reply_to must be one line, "Name <address>" or an address'
      using errcode = '22023', detail = 'field=reply_to';
  end if;
  if tags is not null then
    if cardinality(tags) > 10 then
      raise exception 'mailroom.enqueue: tags must be a list of at most 10 tags'
        using errcode = '22023', detail = 'field=tags';
    end if;
    select o - 1 into bad_tag from unnest(tags) with ordinality as u(tag, o)
     where tag is null or tag !~ '^[a-z0-9][a-z0-9_.-]{0,63}$' order by o limit 1;
    if bad_tag is not null then
      raise exception 'mailroom.enqueue: tags.% must be 1-64 of a-z, 0-9, _ . - (starting with a letter or digit)', bad_tag
        using errcode = '22023', detail = 'field=tags.' || bad_tag;
    end if;
  end if;

  insert into mailroom.outbox as o
    (template, recipient, props, idempotency_key, send_after, priority, max_attempts, not_after, locale, traceparent, reply_to, tags)
  values
    (t.name, recipient, props, idempotency_key, send_after, coalesce(priority, t.priority), t.max_attempts,
     coalesce(not_after, now() + t.ttl), locale, traceparent, btrim(reply_to, ' '), nullif(tags, '{}'))
  on conflict on constraint outbox_idempotency_key_key do nothing
  returning o.id into new_id;

  if new_id is null then
    select o.id into new_id from mailroom.outbox o where o.idempotency_key = enqueue.idempotency_key;
  end if;
  return new_id;
end
$$;

-- 0009's fan-out, with the two new keys.
create or replace function mailroom.enqueue_many(emails jsonb) returns uuid[]
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
  labels    text[];
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
     where k not in ('template', 'to', 'props', 'idempotency_key', 'send_after', 'priority', 'not_after', 'locale', 'traceparent', 'reply_to', 'tags')
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
    labels := null;
    if email ? 'tags' and email -> 'tags' <> 'null'::jsonb then
      if jsonb_typeof(email -> 'tags') <> 'array' or exists (select 1 from jsonb_array_elements(email -> 'tags') e where jsonb_typeof(e) <> 'string') then
        raise exception 'mailroom.enqueue_many: email %: tags must be a JSON array of strings', position
          using errcode = '22023', detail = 'field=' || position || '.tags';
      end if;
      labels := array(select jsonb_array_elements_text(email -> 'tags'));
    end if;
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
        traceparent     => email ->> 'traceparent',
        reply_to        => email ->> 'reply_to',
        tags            => labels);
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
