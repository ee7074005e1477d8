-- One-click unsubscribe (RFC 8058): an address that opted out of a category of
-- email (a digest, alerts, reminders). The sender ends later emails of that
-- category to that address `suppressed`, with the reason; essential email
-- (verification, password reset) has no category and is never blocked by this.
-- Unlike mailroom.suppression (the address gets nothing: it bounced or complained),
-- an opt-out is per category and comes from the person.
create table mailroom.opt_out (
  -- The address in its normal form (mailroom.normalize_address), as the sender compares it.
  address    text not null check (address = mailroom.normalize_address(address)),
  category   text not null check (category ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  -- link: the unsubscribe link (POST); provider: a provider's unsub event; admin, cli, sql: by hand.
  source     text not null check (source in ('link', 'provider', 'admin', 'cli', 'sql')),
  created_at timestamptz not null default now(),
  primary key (address, category)
);
comment on table mailroom.opt_out is 'Addresses that unsubscribed from a category of email (one-click link, provider event, or by hand)';

-- For SQL producers and operators: is this address opted out of this category?
create function mailroom.is_opted_out(address text, category text) returns boolean
language sql stable as $$
  select exists (select 1 from mailroom.opt_out o
                  where o.address = mailroom.normalize_address(is_opted_out.address) and o.category = is_opted_out.category)
$$;
