-- The admin overview's charts (src/admin/dashboard.ts) read small rollups, never
-- the outbox: sent, failed and retried tries per minute and per hour, the latency
-- of the tries that sent, error messages grouped, and the backlog sampled.
--
-- The hot path pays nothing for them. No trigger: `mailroom.roll_up()` reads the
-- attempts that finished since its last run (delivery_attempt_finished_idx) and
-- adds them up. The worker calls it once a minute, the overview page before it
-- reads, `mailroom purge` before it deletes; whoever comes second while one runs
-- skips (an advisory lock), and the page adds the last few minutes, not yet
-- rolled up, from the attempts themselves (mailroom.tries_between).
--
-- Minutes are rolled up two minutes after they end: an attempt recorded by a
-- transaction that commits later than that is in the audit trail and the views,
-- but not in the charts.
--
-- Nothing here names an address: error messages are stored as patterns with every
-- address, id and long number replaced (mailroom.error_pattern), so erasure has
-- nothing to find in these tables.

-- Tries that ended in a minute (grain 'minute', kept 2 days) or an hour (grain
-- 'hour', kept 35 days), by template and transport.
create table mailroom.rollup_tries (
  grain     text not null check (grain in ('minute', 'hour')),
  at        timestamptz not null,
  template  text not null,
  transport text not null,
  sent      int not null default 0,
  failed    int not null default 0,
  retried   int not null default 0,
  primary key (grain, at, template, transport)
);

-- A histogram of the tries that sent, by how long the email had waited: from when
-- it was due (its commit, the send_after its producer set, or its retry's due
-- time) to the end of the try. le_step s counts tries of at most 2^(s/4) ms, more
-- than 2^((s-1)/4): buckets 19% wide, so a percentile read from them is an upper
-- bound within 19% of the true value.
create table mailroom.rollup_latency (
  grain     text not null check (grain in ('minute', 'hour')),
  at        timestamptz not null,
  template  text not null,
  transport text not null,
  le_step   smallint not null,
  sent      int not null,
  primary key (grain, at, template, transport, le_step)
);

-- Failed and retried tries by hour and by error pattern (kept 35 days).
create table mailroom.rollup_errors (
  at          timestamptz not null,
  template    text not null,
  transport   text not null,
  outcome     text not null check (outcome in ('failed', 'retry')),
  error_class text not null,
  pattern     text not null,
  tries       int not null,
  last_at     timestamptz not null,
  primary key (at, template, transport, outcome, error_class, pattern)
);

-- Due rows (counted up to 100,000) and the oldest due row's age, sampled at most
-- once a minute (kept 8 days).
create table mailroom.rollup_backlog (
  at                 timestamptz primary key,
  due                int not null,
  oldest_due_seconds double precision
);

-- Where roll_up() has got to: attempts that finished before rolled_up_to are
-- counted; pruned_at: when it last deleted rollups past their age (hourly).
create table mailroom.rollup_state (
  only_row     boolean primary key default true check (only_row),
  rolled_up_to timestamptz not null,
  pruned_at    timestamptz not null default '-infinity'
);

-- The histogram step of a latency in milliseconds (see rollup_latency).
create function mailroom.latency_step(ms double precision) returns smallint
language sql immutable parallel safe as $$
  select least(127, greatest(-16, ceil(4 * ln(greatest(ms, 0.0625)) / ln(2))))::smallint
$$;

-- An error message as a pattern that groups: "550 5.1.1 <ada@example.com>: no such
-- user" and the same for bob read as one line. Addresses, UUIDs, long hex and
-- numbers of 4 digits or more are replaced; SMTP codes (550, 5.1.1) stay.
create function mailroom.error_pattern(message text) returns text
language sql immutable parallel safe as $$
  select left(btrim(regexp_replace(
           regexp_replace(
             regexp_replace(
               regexp_replace(coalesce(message, ''),
                 '<?[^\s<>()\[\],;:"'']+@[^\s<>()\[\],;:"'']+>?', '<address>', 'g'),
               '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}', '<id>', 'g'),
             '\m(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{8,}\M|\m[0-9]{4,}\M', '<n>', 'g'),
           '\s+', ' ', 'g')), 300)
$$;

-- The tries that finished in [since, until), added up by minute, template,
-- transport, outcome, latency step (sent) and error pattern (failed, retry).
create function mailroom.tries_between(since timestamptz, until timestamptz)
returns table (minute timestamptz, template text, transport text, outcome text, le_step smallint,
               error_class text, pattern text, tries bigint, last_at timestamptz)
language sql stable as $$
  select date_trunc('minute', a.finished_at), o.template, a.transport, a.outcome,
         case when a.outcome = 'sent'
              then mailroom.latency_step(1000 * extract(epoch from a.finished_at - greatest(o.created_at, o.send_after))) end,
         case when a.outcome <> 'sent' then coalesce(a.error_class, '') end,
         case when a.outcome <> 'sent' then mailroom.error_pattern(a.error_message) end,
         count(*), max(a.finished_at)
    from mailroom.delivery_attempt a
    join mailroom.outbox o on o.id = a.outbox_id
   where a.finished_at >= since and a.finished_at < until
   group by 1, 2, 3, 4, 5, 6, 7
$$;

-- Due rows now (pending or retrying, send_after passed; counted up to `cap` from
-- outbox_due_idx) and how long the longest-waiting of them has been due (null:
-- none): one probe of the index per priority, however long the backlog.
create function mailroom.backlog_now(cap int) returns table (due int, oldest_due_seconds double precision)
language sql stable as $$
  select (select count(*)::int from (select 1 from mailroom.outbox o
                                      where o.status in ('pending', 'retrying') and o.send_after <= now()
                                      limit cap) d),
         (select extract(epoch from now() - min(f.send_after))::float8
            from generate_series(-100, 100) p(priority)
           cross join lateral (select o.send_after from mailroom.outbox o
                                where o.status in ('pending', 'retrying') and o.priority = p.priority and o.send_after <= now()
                                order by o.send_after limit 1) f)
$$;

-- Roll up the attempts that finished since the last run, up to two minutes ago, at
-- most `max_span` of them per call (so one call stays short on a big backlog of
-- history: call again while it returns false). Returns true when caught up.
-- Also samples the backlog (once a minute, due rows counted up to 100,000) and
-- deletes rollups past their age (once an hour).
-- JIT off: a 6-hour span of a big history compiled for 0.8 s of its 2 s
-- (docs/performance.md), and the aggregates gain nothing from it.
create function mailroom.roll_up(max_span interval default '6 hours') returns boolean
language plpgsql set jit = off as $$
declare
  v_until timestamptz := date_trunc('minute', now() - interval '2 minutes');
  v_since timestamptz;
  v_to    timestamptz;
begin
  -- One at a time; a second caller has nothing to add.
  if not pg_try_advisory_xact_lock(hashtext('mailroom.roll_up')) then
    return true;
  end if;

  select s.rolled_up_to into v_since from mailroom.rollup_state s;
  if v_since is null then
    -- First run: the charts show at most 7 days, so older history is left out.
    select greatest(date_trunc('minute', min(a.finished_at)), v_until - interval '8 days')
      into v_since from mailroom.delivery_attempt a;
    insert into mailroom.rollup_state (rolled_up_to) values (coalesce(v_since, v_until));
    v_since := coalesce(v_since, v_until);
  end if;
  v_to := least(v_until, v_since + max_span);

  if v_to > v_since then
    with t as materialized (
      select * from mailroom.tries_between(v_since, v_to)
    ), minutes as (
      insert into mailroom.rollup_tries as r (grain, at, template, transport, sent, failed, retried)
      select 'minute', t.minute, t.template, t.transport,
             coalesce(sum(t.tries) filter (where t.outcome = 'sent'), 0),
             coalesce(sum(t.tries) filter (where t.outcome = 'failed'), 0),
             coalesce(sum(t.tries) filter (where t.outcome = 'retry'), 0)
        -- Minute rows are kept 2 days: a catch-up of older history writes hours only.
        from t where t.minute >= now() - interval '2 days' group by 2, 3, 4
      on conflict (grain, at, template, transport) do update
        set sent = r.sent + excluded.sent, failed = r.failed + excluded.failed, retried = r.retried + excluded.retried
    ), hours as (
      insert into mailroom.rollup_tries as r (grain, at, template, transport, sent, failed, retried)
      select 'hour', date_trunc('hour', t.minute), t.template, t.transport,
             coalesce(sum(t.tries) filter (where t.outcome = 'sent'), 0),
             coalesce(sum(t.tries) filter (where t.outcome = 'failed'), 0),
             coalesce(sum(t.tries) filter (where t.outcome = 'retry'), 0)
        from t group by 2, 3, 4
      on conflict (grain, at, template, transport) do update
        set sent = r.sent + excluded.sent, failed = r.failed + excluded.failed, retried = r.retried + excluded.retried
    ), latency_minutes as (
      insert into mailroom.rollup_latency as r (grain, at, template, transport, le_step, sent)
      select 'minute', t.minute, t.template, t.transport, t.le_step, sum(t.tries)
        from t where t.outcome = 'sent' and t.minute >= now() - interval '2 days' group by 2, 3, 4, 5
      on conflict (grain, at, template, transport, le_step) do update set sent = r.sent + excluded.sent
    ), latency_hours as (
      insert into mailroom.rollup_latency as r (grain, at, template, transport, le_step, sent)
      select 'hour', date_trunc('hour', t.minute), t.template, t.transport, t.le_step, sum(t.tries)
        from t where t.outcome = 'sent' group by 2, 3, 4, 5
      on conflict (grain, at, template, transport, le_step) do update set sent = r.sent + excluded.sent
    ), errors as (
      insert into mailroom.rollup_errors as r (at, template, transport, outcome, error_class, pattern, tries, last_at)
      select date_trunc('hour', t.minute), t.template, t.transport, t.outcome, t.error_class, t.pattern, sum(t.tries), max(t.last_at)
        from t where t.outcome <> 'sent' group by 1, 2, 3, 4, 5, 6
      on conflict (at, template, transport, outcome, error_class, pattern) do update
        set tries = r.tries + excluded.tries, last_at = greatest(r.last_at, excluded.last_at)
    )
    update mailroom.rollup_state set rolled_up_to = v_to;
  end if;

  -- The backlog now, once a minute (checked first: counting it is the costly part).
  if not exists (select 1 from mailroom.rollup_backlog b where b.at = date_trunc('minute', now())) then
    insert into mailroom.rollup_backlog (at, due, oldest_due_seconds)
    select date_trunc('minute', now()), b.due, b.oldest_due_seconds from mailroom.backlog_now(100000) b
    on conflict (at) do nothing;
  end if;

  -- Rollups past their age, once an hour.
  if (select s.pruned_at from mailroom.rollup_state s) < now() - interval '1 hour' then
    delete from mailroom.rollup_tries where grain = 'minute' and at < now() - interval '2 days';
    delete from mailroom.rollup_tries where grain = 'hour' and at < now() - interval '35 days';
    delete from mailroom.rollup_latency where grain = 'minute' and at < now() - interval '2 days';
    delete from mailroom.rollup_latency where grain = 'hour' and at < now() - interval '35 days';
    delete from mailroom.rollup_errors where at < now() - interval '35 days';
    delete from mailroom.rollup_backlog where at < now() - interval '8 days';
    update mailroom.rollup_state set pruned_at = now();
  end if;

  return v_to >= v_until;
end
$$;

-- Who replayed or cancelled a row, and when: the timeline of the admin row page and
-- `mailroom show`. Written by mailroom.replay() and by cancels (src/admin/outbox-admin.ts).
create table mailroom.operator_action (
  id        bigint generated always as identity primary key,
  outbox_id uuid not null references mailroom.outbox (id) on delete cascade,
  action    text not null check (action in ('replay', 'resend', 'cancel')),
  actor     text not null check (length(actor) between 1 and 200 and actor !~ '[\r\n]'),
  at        timestamptz not null default now()
);
create index operator_action_outbox_idx on mailroom.operator_action (outbox_id, at);

-- replay() as in 0001, recording who asked (by default the database role).
drop function mailroom.replay(uuid, boolean);
create function mailroom.replay(id uuid, resend boolean default false, actor text default null) returns boolean
language plpgsql as $$
declare
  changed int;
  was     text;
begin
  select o.status into was from mailroom.outbox o where o.id = replay.id;
  if not found then
    raise exception 'mailroom.replay: no outbox row %', replay.id
      using errcode = 'P0002', detail = 'field=id';
  end if;
  if actor is not null and (length(actor) not between 1 and 200 or actor ~ '[\r\n]') then
    raise exception 'mailroom.replay: actor must be one line of 1 to 200 characters'
      using errcode = '22023', detail = 'field=actor';
  end if;
  update mailroom.outbox o
     set status = 'pending', send_after = now(), job_id = null, queued_at = null,
         max_attempts = o.attempts + t.max_attempts, not_after = null,
         last_error = null, updated_at = now()
    from mailroom.template t
   where o.id = replay.id and t.name = o.template
     and (o.status in ('failed', 'expired', 'cancelled') or (resend and o.status = 'sent'));
  get diagnostics changed = row_count;
  if changed = 1 then
    insert into mailroom.operator_action (outbox_id, action, actor)
    values (replay.id, case when was = 'sent' then 'resend' else 'replay' end, coalesce(replay.actor, 'sql: ' || session_user));
  end if;
  return changed = 1;
end
$$;
