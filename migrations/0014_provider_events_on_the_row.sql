-- Provider events on the row (issue 14): what Mailjet said about an email after it
-- was sent (delivered, bounced, blocked, complained, opened, clicked, unsubscribed),
-- summed up per email and per template in the audit views (docs/auditing.md).
--
-- The events themselves are mailroom.delivery_event (0003), one row per event:
-- a replayed webhook adds nothing, by the event key of 0008. An event names its
-- outbox row (outbox_id) when the webhook could match it: by the CustomID mailroom
-- sends (the outbox id), else by the provider's message id of a sent attempt; an
-- event that matches no row is kept with outbox_id null (src/suppression/provider-events.ts).
--
-- Cost of the two indexes below: one more entry per attempt that has a provider
-- message id, one more per event; both tables are insert-only, so no update is
-- made non-HOT by them. On a large existing database they are built under a lock
-- that holds back the worker's attempt inserts and the webhook's event inserts (the
-- migration runs in a transaction): build them beforehand with `create index
-- concurrently if not exists` under the same names, and this migration skips them.

-- The provider's words for an event, in the words of the views: one place for the
-- mapping, so another provider's events can join the same columns later. Mailjet's
-- `sent` is its delivery report: the receiving mail server accepted the message.
create function mailroom.event_kind(provider text, event text) returns text
language sql immutable parallel safe as $$
  select coalesce(case when provider = 'mailjet' then
                    case event when 'sent' then 'delivered' when 'bounce' then 'bounced' when 'blocked' then 'blocked'
                               when 'spam' then 'complained' when 'open' then 'opened' when 'click' then 'clicked'
                               when 'unsub' then 'unsubscribed' end
                  end, event)
$$;
comment on function mailroom.event_kind(text, text) is
  'A provider event''s type as the audit views name it: delivered, bounced, blocked, complained, opened, clicked, unsubscribed (migrations/0014)';

-- The webhook matches an event without a usable CustomID by Mailjet's MessageID,
-- which the sent attempt recorded.
create index if not exists delivery_attempt_provider_message_idx
    on mailroom.delivery_attempt (provider_message_id) where provider_message_id is not null;

-- The day of an event (UTC), as mailroom.template_events groups by it: a query for
-- the last days reads these days' events only, however long the history.
create index if not exists delivery_event_day_idx
    on mailroom.delivery_event (((coalesce(occurred_at, received_at) at time zone 'UTC')::date));

-- Every stored event, with the template and recipient of its row (null when it
-- matched none, or its row was purged) and its kind. occurred_at is the provider's
-- time of the event (whole seconds for Mailjet), or when it was received if none.
create view mailroom.provider_events as
select e.id, e.outbox_id, o.template, o.recipient, e.provider, e.event,
       mailroom.event_kind(e.provider, e.event) as kind,
       e.hard, e.address, e.provider_message_id, e.reason,
       e.payload ->> 'url' as url,
       coalesce(e.occurred_at, e.received_at) as occurred_at,
       e.received_at
  from mailroom.delivery_event e
  left join mailroom.outbox o on o.id = e.outbox_id;

-- mailroom.deliveries (0004) with the events of each email counted, columns added
-- at the end: the columns of before keep their names, types and order, and a query
-- that reads none of the new ones does not join the events at all (PostgreSQL drops
-- the unused lateral aggregate). Each count is of events, once each: two opens are 2.
create or replace view mailroom.deliveries as
select o.id, o.template, o.recipient, o.status, o.attempts, o.max_attempts, o.priority,
       o.created_at, o.send_after, o.not_after, o.sent_at, o.last_error, o.provider_message_id,
       a.attempt       as last_attempt,
       a.transport     as last_transport,
       a.outcome       as last_outcome,
       a.error_class   as last_error_class,
       a.response_code as last_response_code,
       a.finished_at   as last_attempt_at,
       ev.delivered, ev.bounced, ev.hard_bounced, ev.blocked, ev.complained, ev.opened, ev.clicked, ev.unsubscribed,
       ev.last_event, ev.last_event_at
  from mailroom.outbox o
  left join lateral (
    select * from mailroom.delivery_attempt da
     where da.outbox_id = o.id
     order by da.attempt desc, da.id desc
     limit 1
  ) a on true
  left join lateral (
    select count(*) filter (where k.kind = 'delivered')::int                as delivered,
           count(*) filter (where k.kind = 'bounced')::int                  as bounced,
           count(*) filter (where k.kind = 'bounced' and de.hard)::int      as hard_bounced,
           count(*) filter (where k.kind = 'blocked')::int                  as blocked,
           count(*) filter (where k.kind = 'complained')::int               as complained,
           count(*) filter (where k.kind = 'opened')::int                   as opened,
           count(*) filter (where k.kind = 'clicked')::int                  as clicked,
           count(*) filter (where k.kind = 'unsubscribed')::int             as unsubscribed,
           (array_agg(k.kind order by k.at desc, de.id desc))[1]            as last_event,
           max(k.at)                                                        as last_event_at
      from mailroom.delivery_event de
     cross join lateral (select mailroom.event_kind(de.provider, de.event) as kind,
                                coalesce(de.occurred_at, de.received_at) as at) k
     where de.outbox_id = o.id
  ) ev on true;

-- Per template and day (UTC, of the event): the same counts, and all events. Events
-- that matched no row are the line with template null. Filter on day to read only
-- those days (delivery_event_day_idx), e.g. where day >= current_date - 7.
create view mailroom.template_events as
select o.template,
       (coalesce(e.occurred_at, e.received_at) at time zone 'UTC')::date as day,
       count(*)::int                                                                          as events,
       count(*) filter (where mailroom.event_kind(e.provider, e.event) = 'delivered')::int    as delivered,
       count(*) filter (where mailroom.event_kind(e.provider, e.event) = 'bounced')::int      as bounced,
       count(*) filter (where mailroom.event_kind(e.provider, e.event) = 'bounced' and e.hard)::int as hard_bounced,
       count(*) filter (where mailroom.event_kind(e.provider, e.event) = 'blocked')::int      as blocked,
       count(*) filter (where mailroom.event_kind(e.provider, e.event) = 'complained')::int   as complained,
       count(*) filter (where mailroom.event_kind(e.provider, e.event) = 'opened')::int       as opened,
       count(*) filter (where mailroom.event_kind(e.provider, e.event) = 'clicked')::int      as clicked,
       count(*) filter (where mailroom.event_kind(e.provider, e.event) = 'unsubscribed')::int as unsubscribed
  from mailroom.delivery_event e
  left join mailroom.outbox o on o.id = e.outbox_id
 group by o.template, (coalesce(e.occurred_at, e.received_at) at time zone 'UTC')::date;
