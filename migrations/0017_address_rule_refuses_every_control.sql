-- The address rule refuses every control character, as docs/api.md says: DEL
-- (U+007F) and the C1 controls (U+0080 to U+009F) passed on both paths before,
-- though no mail system takes them in an address. The same change is made to
-- src/outbox/validate.ts (ADDRESS); test/enqueue.address-rule-parity.test.ts checks
-- that both rules still agree on every code point of the BMP.
create or replace function mailroom.is_valid_address(address text) returns boolean
language sql immutable parallel safe as $$
  select address is not null
     and length(address) <= 254
     and address ~ ('^[^' || E'\t\n\u000b\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff'
                    || '@<>()\[\],;:"\\\x01-\x1f\x7f-\x9f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$')
$$;
