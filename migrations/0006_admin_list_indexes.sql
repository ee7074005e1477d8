-- The admin pages' outbox list (src/admin/outbox-admin.ts, listPage): newest first,
-- paged by keyset on (created_at, id), with optional filters on status, template,
-- recipient and a created_at range. Each filter gets an index whose order is the
-- list's order, so a page reads about 50 index entries whatever the table holds
-- (EXPLAIN at a million rows: test/admin.list-uses-indexes.test.ts, `npm run bench
-- -- explain`, docs/performance.md).
--
-- Cost: two more indexes on the outbox. created_at, template and id never change,
-- but a status flip is not a HOT update (status is indexed), so each flip writes
-- to these too.
--
-- On a large existing outbox this migration blocks writes while it builds the
-- indexes (migrations run in a transaction): build them beforehand with
-- `create index concurrently if not exists` under the same names, and it skips them.

-- No filter, or only a date range.
create index if not exists outbox_created_idx on mailroom.outbox (created_at desc, id desc);

-- One template.
create index if not exists outbox_template_created_idx on mailroom.outbox (template, created_at desc, id desc);

-- One status, one recipient: the indexes of 0001 with id added, so the keyset
-- comparison (created_at, id) < (...) is an index condition and no sort is needed.
-- They replace 0001's (status, created_at) and (lower(recipient), created_at).
create index if not exists outbox_status_list_idx on mailroom.outbox (status, created_at desc, id desc);
drop index if exists mailroom.outbox_status_created_idx;
create index if not exists outbox_recipient_list_idx on mailroom.outbox (lower(recipient), created_at desc, id desc);
drop index if exists mailroom.outbox_recipient_idx;
