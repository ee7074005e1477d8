-- What TypeScript stores, SQL stores (issue 13). enqueue() in TypeScript writes
-- zod's output: strings of a .trim() schema trimmed, unknown keys of a plain
-- z.object() dropped. mailroom.enqueue() in SQL stored the props as given, so the
-- same email enqueued from Python and from TypeScript left different rows (a
-- padded name, an extra key a producer passed by mistake). mailroom.shape_props()
-- applies the same two rewrites, read from the stored schema (`stripUnknown`, set by
-- `mailroom migrate` from this release on; a catalogue synced before keeps what it
-- had until its next migrate, which every `mailroom migrate` does). mailroom.enqueue()
-- calls it from migration 0019 on, which redefines enqueue() for its own reasons too:
-- one copy of the function's body instead of two.

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
