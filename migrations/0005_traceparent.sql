-- The W3C traceparent of the request that enqueued the email, so the worker's
-- send span continues the request's trace (src/tracing/). Null when the caller
-- had no trace; checked here so a malformed value never reaches a propagator.
alter table mailroom.outbox
  add column traceparent text
  constraint outbox_traceparent_format check (traceparent ~ '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$');
