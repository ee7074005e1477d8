-- Time-ordered outbox ids (UUIDv7, RFC 9562) instead of random ones (issue 17): a
-- random id writes a random leaf page of every index that starts with it, so each
-- enqueue dirtied a page of outbox_pkey that no recent enqueue had touched; with the
-- time first, new ids land on the rightmost pages, as a sequence's would, and stay
-- unguessable (74 random bits). PostgreSQL 18 has uuidv7(); 15 does not, so it is
-- made here from gen_random_uuid(): its first 48 bits replaced by the Unix time in
-- milliseconds, its version nibble turned from 4 to 7 (the variant bits stay).
create function mailroom.uuid_v7() returns uuid
language sql volatile parallel safe as $$
  select encode(
           set_bit(set_bit(
             overlay(uuid_send(gen_random_uuid())
                     placing substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint) from 3)
                     from 1 for 6),
             52, 1), 53, 1),
           'hex')::uuid
$$;
comment on function mailroom.uuid_v7() is 'A UUIDv7: the Unix time in milliseconds, then random bits (outbox ids and job ids)';

alter table mailroom.outbox alter column id set default mailroom.uuid_v7();
