-- The address rule is one rule, enforced twice: src/outbox/validate.ts (ADDRESS) and
-- here. PostgreSQL's \s depends on the database's locale (under C.UTF-8 it is ASCII
-- white space only), while JavaScript's \s is a fixed Unicode list, so U+00A0 or
-- U+FEFF passed in SQL and failed in TypeScript. The white space is spelled out: the
-- same characters as JavaScript's \s (WhiteSpace and LineTerminator). A test checks
-- the two rules agree on every code point (test/enqueue.address-rule-parity.test.ts).
create or replace function mailroom.is_valid_address(address text) returns boolean
language sql immutable parallel safe as $$
  select address is not null
     and length(address) <= 254
     and address ~ ('^[^' || E'\t\n\u000b\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff'
                    || '@<>()\[\],;:"\\\x01-\x1f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$')
$$;
