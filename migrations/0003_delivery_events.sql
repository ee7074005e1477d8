-- What providers tell us after a send (bounces, complaints, blocks, unsubscribes),
-- kept as received. Hard bounces and complaints also put the address on
-- mailroom.suppression, so later emails to it end `suppressed` without a send.
create table mailroom.delivery_event (
  id                  bigint generated always as identity primary key,
  provider            text not null,
  event               text not null,
  address             text not null,
  -- The outbox row, from the provider's CustomID. No foreign key: an event may
  -- arrive after its row was purged, and must still be kept.
  outbox_id           uuid,
  provider_message_id text,
  hard                boolean,
  reason              text,
  occurred_at         timestamptz,
  received_at         timestamptz not null default now(),
  payload             jsonb not null
);
create index delivery_event_address_idx on mailroom.delivery_event (lower(address), received_at desc);
create index delivery_event_outbox_idx on mailroom.delivery_event (outbox_id) where outbox_id is not null;
