-- The outbox's foreign key to mailroom.template goes (issue 17). Every enqueue
-- took a share lock on its template's row to check it, and with many producers
-- enqueueing the same template those locks become multixacts on that one row:
-- measured, 16-client enqueue went from 0.42x to 0.48x of a token-only transaction
-- without it (LIBRARIES.md). What it guarded is checked where rows come in:
-- enqueue (TypeScript) inserts `select ... from mailroom.template where name = $1`,
-- so an unknown template inserts nothing and is refused; mailroom.enqueue and
-- enqueue_many refuse it naming `template`. Template rows are never deleted
-- (`mailroom migrate` upserts them). A row written by hand with a template the
-- config does not have ends `failed` at its first try (the worker cannot render it).
do $$
declare
  fk text;
begin
  for fk in
    select c.conname from pg_constraint c
     where c.conrelid = 'mailroom.outbox'::regclass and c.contype = 'f' and c.confrelid = 'mailroom.template'::regclass
  loop
    execute format('alter table mailroom.outbox drop constraint %I', fk);
  end loop;
end
$$;
