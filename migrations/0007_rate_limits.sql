-- Sending rates held across every worker process (src/ratelimit/): one token
-- bucket per limited transport (`transport:smtp`) and recipient domain
-- (`domain:gmail.com`), plus a row per transport used, which carries its pause
-- (bad credentials, untrusted certificate) even when it has no rate.
create table mailroom.rate_limit (
  key             text primary key check (key ~ '^(transport|domain):[a-z0-9.-]+$'),
  -- Permits per second as configured (RATE_LIMIT_*); null: no limit, the row only carries pauses.
  rate            double precision check (rate > 0),
  -- Capacity: one second's worth, at least one permit (of the current rate, when slowed).
  burst           double precision not null default 1 check (burst >= 1),
  tokens          double precision not null default 1,
  refilled_at     timestamptz not null default now(),
  -- A throttled reply (SMTP 421, HTTP 429) halves the rate at slowed_at; it doubles
  -- back every RATE_LIMIT_RECOVERY_MS from then on (computed, never stored).
  slow_factor     double precision not null default 1 check (slow_factor > 0 and slow_factor <= 1),
  slowed_at       timestamptz,
  -- Rows refused a permit are put back with send_after in line up to here, so that
  -- batches of several workers queue behind each other instead of colliding.
  promised_until  timestamptz,
  paused_until    timestamptz,
  pause_reason    text,
  -- The last take, for operators: permits asked for and given.
  last_demand     int not null default 0,
  last_granted    int not null default 0,
  updated_at      timestamptz not null default now()
);

-- A handful of rows, each rewritten by every batch that uses it: room on the page
-- keeps those updates HOT.
alter table mailroom.rate_limit set (fillfactor = 50);

-- The effective rate of a bucket at a moment: the configured rate, halved by each
-- throttle and recovering (doubling) every recovery_ms since the last one.
create function mailroom.rate_limit_factor(b mailroom.rate_limit, at timestamptz, recovery_ms double precision)
returns double precision language sql immutable parallel safe as $$
  select least(1.0, b.slow_factor * power(2.0, least(30.0, greatest(0.0,
           extract(epoch from at - coalesce(b.slowed_at, at)) * 1000 / recovery_ms))))
$$;

-- One call per batch. limit_keys/limit_rates: the buckets the batch touches (rate
-- null: no limit there). row_transport/row_domain: for each row in send order, the
-- 1-based index of its transport's bucket and of its domain's (null: none). A row
-- gets a permit when every bucket it touches has a whole token and its transport is
-- not paused; the others are told how long to wait: their place in line after the
-- rows already promised, at the bucket's current rate. Buckets are locked in key
-- order, so concurrent batches never deadlock.
create function mailroom.take_send_permits(
  limit_keys    text[],
  limit_rates   double precision[],
  recovery_ms   double precision,
  row_transport int[],
  row_domain    int[]
) returns table (permitted boolean, wait_ms double precision, reason text)
language plpgsql as $$
declare
  at        timestamptz;
  b         mailroom.rate_limit;
  v_bucket  mailroom.rate_limit[] := '{}';
  k         int;
  r         int;
  t         int;
  d         int;
  v_rate    double precision[] := '{}';
  v_tokens  double precision[] := '{}';
  v_base    timestamptz[] := '{}';
  v_waiting int[] := '{}';
  v_demand  int[] := '{}';
  v_granted int[] := '{}';
  v_paused  double precision[] := '{}';
  v_why     text[] := '{}';
  v_burst   double precision;
  lacking   int;
  w         double precision;
begin
  -- Lock every bucket first (in key order), then read the clock: a batch that
  -- waited for another's lock must not refill from a moment before that one's
  -- refill, or the same interval would be counted twice.
  for k in select u.ord from unnest(limit_keys) with ordinality as u(key, ord) order by u.key loop
    v_burst := greatest(1.0, coalesce(limit_rates[k], 1.0));
    insert into mailroom.rate_limit as x (key, rate, burst, tokens, refilled_at)
    values (limit_keys[k], limit_rates[k], v_burst, v_burst, clock_timestamp())
    on conflict (key) do nothing;
    select * into b from mailroom.rate_limit as x where x.key = limit_keys[k] for update;
    v_bucket[k] := b;
  end loop;
  at := clock_timestamp();
  for k in 1 .. coalesce(array_length(limit_keys, 1), 0) loop
    b := v_bucket[k];
    v_rate[k] := limit_rates[k] * mailroom.rate_limit_factor(b, at, recovery_ms);
    -- A slowed bucket holds less too: one second's worth at its current rate.
    v_burst := greatest(1.0, coalesce(v_rate[k], 1.0));
    -- (least() skips nulls: an unlimited bucket must stay null, not full.)
    v_tokens[k] := case when v_rate[k] is not null
                        then least(v_burst, b.tokens + greatest(0.0, extract(epoch from at - b.refilled_at)) * v_rate[k]) end;
    -- The first row refused here waits until a whole token has refilled, or until
    -- the rows already promised have had theirs, whichever is later.
    v_base[k] := greatest(at + make_interval(secs => greatest(0.0, 1.0 - coalesce(v_tokens[k], 1.0)) / coalesce(v_rate[k], 1.0)), b.promised_until);
    v_waiting[k] := 0;
    v_demand[k] := 0;
    v_granted[k] := 0;
    v_paused[k] := case when b.paused_until > at then extract(epoch from b.paused_until - at) * 1000 else 0 end;
    v_why[k] := b.pause_reason;
  end loop;

  for r in 1 .. coalesce(array_length(row_transport, 1), 0) loop
    t := row_transport[r];
    d := row_domain[r];
    v_demand[t] := v_demand[t] + 1;
    if d is not null then v_demand[d] := v_demand[d] + 1; end if;
    if v_paused[t] > 0 then
      permitted := false;
      wait_ms := v_paused[t];
      reason := format('transport %s paused: %s', split_part(limit_keys[t], ':', 2), coalesce(v_why[t], 'configuration error'));
      return next;
      continue;
    end if;
    if coalesce(v_tokens[t] >= 1, true) and (d is null or coalesce(v_tokens[d] >= 1, true)) then
      if v_tokens[t] is not null then v_tokens[t] := v_tokens[t] - 1; v_granted[t] := v_granted[t] + 1; end if;
      if d is not null and v_tokens[d] is not null then v_tokens[d] := v_tokens[d] - 1; v_granted[d] := v_granted[d] + 1; end if;
      permitted := true;
      wait_ms := 0;
      reason := null;
      return next;
      continue;
    end if;
    -- Refused: wait for this row's place in line at every bucket it lacks a token from.
    w := 0;
    reason := null;
    foreach lacking in array array_remove(array[t, d], null) loop
      if v_tokens[lacking] is not null and v_tokens[lacking] < 1 then
        w := greatest(w, extract(epoch from v_base[lacking] - at) * 1000 + v_waiting[lacking] * 1000 / v_rate[lacking]);
        v_waiting[lacking] := v_waiting[lacking] + 1;
        reason := coalesce(reason || ', ', '') || replace(limit_keys[lacking], ':', ' ');
      end if;
    end loop;
    permitted := false;
    wait_ms := w;
    reason := format('rate limited (%s)', reason);
    return next;
  end loop;

  for k in 1 .. coalesce(array_length(limit_keys, 1), 0) loop
    update mailroom.rate_limit as x
       set rate = limit_rates[k],
           burst = greatest(1.0, coalesce(limit_rates[k], 1.0)),
           tokens = coalesce(v_tokens[k], greatest(1.0, coalesce(limit_rates[k], 1.0))),
           refilled_at = at,
           promised_until = case when v_waiting[k] > 0
                                 then v_base[k] + make_interval(secs => v_waiting[k] / v_rate[k])
                                 else x.promised_until end,
           last_demand = v_demand[k],
           last_granted = v_granted[k],
           updated_at = at
     where x.key = limit_keys[k];
  end loop;
end
$$;

-- A throttled reply from this transport: halve its effective rate (at most once a
-- second, however many rows of a batch were throttled; never below 1/64) and empty
-- the bucket. A transport without a rate has nothing to slow.
create function mailroom.slow_down_transport(bucket text, recovery_ms double precision)
returns void language sql as $$
  update mailroom.rate_limit as x
     set slow_factor = case when x.slowed_at > clock_timestamp() - interval '1 second' then x.slow_factor
                            else greatest(1.0 / 64, mailroom.rate_limit_factor(x, clock_timestamp(), recovery_ms) / 2) end,
         slowed_at = case when x.slowed_at > clock_timestamp() - interval '1 second' then x.slowed_at else clock_timestamp() end,
         tokens = least(x.tokens, 0),
         updated_at = clock_timestamp()
   where x.key = bucket and x.rate is not null
$$;

-- Our settings are wrong for this transport (credentials, certificate): no worker
-- sends through it until paused_until; the rows wait, their attempts untouched.
create function mailroom.pause_transport(bucket text, pause_ms double precision, why text)
returns timestamptz language sql as $$
  insert into mailroom.rate_limit as x (key, paused_until, pause_reason)
  values (bucket, clock_timestamp() + make_interval(secs => pause_ms / 1000), why)
  on conflict (key) do update
     set paused_until = greatest(x.paused_until, excluded.paused_until),
         pause_reason = excluded.pause_reason,
         updated_at = clock_timestamp()
  returning paused_until
$$;
