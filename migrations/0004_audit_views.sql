-- Views for auditing (docs/auditing.md): plain SQL over the outbox and its attempts.

-- Every email with its latest attempt (null when none was made yet).
create view mailroom.deliveries as
select o.id, o.template, o.recipient, o.status, o.attempts, o.max_attempts, o.priority,
       o.created_at, o.send_after, o.not_after, o.sent_at, o.last_error, o.provider_message_id,
       a.attempt       as last_attempt,
       a.transport     as last_transport,
       a.outcome       as last_outcome,
       a.error_class   as last_error_class,
       a.response_code as last_response_code,
       a.finished_at   as last_attempt_at
  from mailroom.outbox o
  left join lateral (
    select * from mailroom.delivery_attempt da
     where da.outbox_id = o.id
     order by da.attempt desc, da.id desc
     limit 1
  ) a on true;

-- Failed emails with the reason of their last try.
create view mailroom.failures as
select d.id, d.template, d.recipient, d.attempts, d.created_at, d.last_attempt_at as failed_at,
       d.last_transport as transport, coalesce(d.last_error_class, 'unknown') as error_class,
       d.last_response_code as response_code, d.last_error
  from mailroom.deliveries d
 where d.status = 'failed';

-- Sent emails and how long they took: from the enqueue's commit-side clock to the
-- provider's acceptance, and how many tries it needed.
create view mailroom.latency as
select o.id, o.template, o.created_at, o.sent_at, o.attempts,
       extract(epoch from (o.sent_at - o.created_at)) as seconds_to_send
  from mailroom.outbox o
 where o.status = 'sent' and o.sent_at is not null;
