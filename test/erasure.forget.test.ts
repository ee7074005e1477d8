// `mailroom forget <address>` (issue 14, erasure), through the real CLI and the SQL
// function it calls, on mail sent for real: a worker and an SMTP sink give the
// address a sent row, a refused one (its attempt quotes the address), a suppressed
// one and one still waiting, and Mailjet's webhook gives it provider events and a
// suppression entry; another address has rows of its own. Afterwards no column of
// any table of the mailroom schema (nor pg-boss's) holds the address or the name
// the props carried, found by a query over every row of every table rather than a
// list of columns; the audit views count what they counted; the other address's
// rows are byte for byte what they were; a second run writes nothing and says 0;
// bad input is named and erases nothing; a row being sent right now is left for a
// later run, with its suppression, and reported.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../src/cli/commands/worker.ts';
import { enqueueEmail } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { useWebhookServer } from './support/webhook-server.ts';
import { runCli, startInProcessWorker, waitUntil } from './support/worker.ts';

const SECRET = 'webhook-secret-0123456789';
const s = useScenario();
const { post } = useWebhookServer(s, SECRET);
let worker: RunningWorker;
let workerStopped: Promise<void> | undefined;
const stopWorker = () => (workerStopped ??= worker?.stop());

const ADA = 'ada@example.test';
const BOB = 'bob@example.test';
const PLACEHOLDER = 'erased@erased.invalid';
const token = 'token-0123456789abcdef';
const ids = {} as Record<'sent' | 'bobSent' | 'failed' | 'suppressed' | 'pending' | 'bobPending', string>;
/** The opt-outs by category of migration 0016, when this tree has them: keyed by the address like the suppression list. */
let optOuts = false;

const status = async (id: string) => (await s.pool.query('select status from mailroom.outbox where id = $1', [id])).rows[0]?.status;
const settled = (id: string, expected: string) => waitUntil(() => status(id), (v) => v === expected, 20_000, `${id} ${expected}`);
const cli = (args: string[]) => runCli(['forget', ...args], { DATABASE_URL: s.database.url, LOG_LEVEL: 'silent' });

/** The tables (and partitions) of these schemas whose rows, as text, hold `needle` in any case: every column of every row. */
async function tablesHolding(needle: string, schemas = ['mailroom', 'pgboss']): Promise<string[]> {
  const { rows: tables } = await s.pool.query<{ name: string }>(
    `select format('%I.%I', n.nspname, c.relname) as name
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any($1) and c.relkind in ('r', 'p')
      order by 1`,
    [schemas],
  );
  expect(tables.length).toBeGreaterThan(8);
  const holding: string[] = [];
  for (const { name } of tables) {
    // The whole row as text, case-folded as mailroom compares addresses.
    const { rows } = await s.pool.query<{ n: number }>(
      `select count(*)::int as n from ${name} t where strpos(mailroom.normalize_address(t::text), mailroom.normalize_address($1)) > 0`,
      [needle],
    );
    if (rows[0]!.n > 0) holding.push(name);
  }
  return holding;
}

/**
 * Every row of every mailroom table with its xmin: any write at all (even of the
 * same values) changes it. The admin charts' rollups (rollup_*) are left out: the
 * worker's minute timer writes them whatever forget does, and they hold no address
 * (test/admin.dashboard.test.ts).
 */
async function schemaSnapshot(): Promise<Record<string, string>> {
  const { rows: tables } = await s.pool.query<{ name: string }>(
    `select format('%I.%I', n.nspname, c.relname) as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'mailroom' and c.relkind in ('r', 'p') and c.relname !~ '^rollup_' order by 1`,
  );
  const snapshot: Record<string, string> = {};
  for (const { name } of tables) {
    const { rows } = await s.pool.query(`select coalesce(string_agg(t.xmin::text || ' ' || t::text, E'\\n' order by t::text), '') as rows from ${name} t`);
    snapshot[name] = rows[0].rows;
  }
  return snapshot;
}

/** What the audit views (migrations/0004) count. */
async function auditCounts() {
  const q = async (text: string) => (await s.pool.query(text)).rows;
  return {
    deliveriesByTemplate: await q(`select template, count(*)::int as n, sum(attempts)::int as attempts from mailroom.deliveries group by 1 order by 1`),
    deliveriesByStatus: Object.fromEntries(
      (await q(`select status, count(*)::int as n from mailroom.deliveries group by 1`)).map((r) => [r.status, r.n]),
    ) as Record<string, number>,
    lastAttempts: await q(`select last_outcome, last_error_class, last_response_code, count(*)::int as n from mailroom.deliveries group by 1, 2, 3 order by 1, 2, 3`),
    failures: await q(`select template, error_class, response_code, attempts, count(*)::int as n from mailroom.failures group by 1, 2, 3, 4 order by 1, 2, 3, 4`),
    latency: await q(`select template, count(*)::int as n, sum(attempts)::int as attempts, round(sum(seconds_to_send)::numeric, 6) as seconds from mailroom.latency group by 1 order by 1`),
  };
}

/** Bob's rows in every table that has them, with their xmin: untouched means not even rewritten. */
async function bobsRows() {
  const q = async (text: string) => (await s.pool.query(text, [BOB])).rows;
  return {
    outbox: await q(`select xmin::text, * from mailroom.outbox where lower(recipient) = $1 order by created_at, id`),
    attempts: await q(
      `select a.xmin::text, a.* from mailroom.delivery_attempt a join mailroom.outbox o on o.id = a.outbox_id where lower(o.recipient) = $1 order by a.id`,
    ),
    events: await q(`select xmin::text, * from mailroom.delivery_event where lower(address) = $1 order by id`),
    suppression: await q(`select xmin::text, * from mailroom.suppression where address = $1`),
    optOuts: optOuts ? await q(`select xmin::text, * from mailroom.opt_out where address = $1`) : [],
  };
}

beforeAll(async () => {
  // One slot of one row: of two rows due at once, the relay hands one to its own
  // sender (no pg-boss job) and publishes the other, so a job is sure to be written.
  worker = await startInProcessWorker({ ...s.env(), WORKER_CONCURRENCY: '1', WORKER_BATCH_SIZE: '1' });
  // Every job's data as published: completed jobs are deleted in time, so the jobs
  // left in pgboss.job afterwards are not all there were.
  await s.pool.query(`
    create table public.published_job_data (data jsonb);
    create function public.keep_published_job_data() returns trigger language plpgsql as $$
      begin insert into public.published_job_data values (new.data); return null; end $$;
    create trigger keep_published_job_data after insert on pgboss.job for each row execute function public.keep_published_job_data()`);
  const hour = 3_600_000;

  // Sent: the props carry the person's name, the idempotency key embeds the address.
  const client = await s.pool.connect();
  try {
    await client.query('begin');
    ids.sent = await enqueueEmail(client, {
      template: 'account-confirm',
      to: 'Ada@Example.TEST',
      props: { token, name: 'Ada Lovelace' },
      idempotencyKey: `confirm:${ADA}`,
    });
    ids.bobSent = await enqueueEmail(client, { template: 'account-confirm', to: BOB, props: { token, name: 'Bob Babbage' }, idempotencyKey: `confirm:${BOB}` });
    await client.query('commit');
  } finally {
    client.release();
  }
  await settled(ids.sent, 'sent');
  await settled(ids.bobSent, 'sent');

  // Failed: the sink refuses with 550, and the attempt's error quotes the address.
  s.sink.respond(ADA, 550);
  ids.failed = await enqueueEmail(s.pool, { template: 'team-invite', to: 'ADA@example.test', props: { token, inviterName: 'Charles', teamName: 'Engines' } });
  await settled(ids.failed, 'failed');

  // Provider events: a hard bounce about the failed row (suppresses the address), a
  // soft bounce naming no row; one about Bob's sent row, which suppresses him too.
  const response = await post([
    { event: 'bounce', time: 1795858000, email: 'Ada@Example.test', CustomID: ids.failed, hard_bounce: true, error_related_to: 'recipient', error: 'mailbox Ada@Example.TEST unknown' },
    { event: 'bounce', time: 1795858001, MessageID: '7', email: 'ADA@EXAMPLE.TEST', hard_bounce: false, error: 'mailbox full' },
    { event: 'spam', time: 1795858002, email: BOB, CustomID: ids.bobSent, source: 'JMRPP' },
  ]);
  expect(response.json()).toMatchObject({ stored: 3, suppressed: 2 });

  // Suppressed: a later email to her ends suppressed without a send.
  ids.suppressed = await enqueueEmail(s.pool, { template: 'account-notice', to: ADA, props: { name: 'Ada Lovelace', changedAt: '2026-11-28T12:34:00Z' } });
  await settled(ids.suppressed, 'suppressed');

  // Waiting: due tomorrow, with her name and an address-bearing key. Bob has one too.
  const tomorrow = new Date(Date.now() + 24 * hour);
  const expiresAt = new Date(Date.now() + 48 * hour).toISOString();
  ids.pending = await enqueueEmail(s.pool, {
    template: 'account-reset',
    to: 'ada@EXAMPLE.test',
    props: { token, name: 'Ada Lovelace', expiresAt },
    idempotencyKey: `reset:Ada@Example.TEST`,
    sendAfter: tomorrow,
    notAfter: new Date(Date.now() + 48 * hour),
  });
  ids.bobPending = await enqueueEmail(s.pool, { template: 'account-reset', to: BOB, props: { token, name: 'Bob Babbage', expiresAt }, sendAfter: tomorrow });

  optOuts = (await s.pool.query(`select to_regclass('mailroom.opt_out') is not null as present`)).rows[0].present;
  if (optOuts) {
    await s.pool.query(`insert into mailroom.opt_out (address, category, source) values ($1, 'digest', 'sql'), ($2, 'digest', 'sql')`, [ADA, BOB]);
  }
}, 120_000);

afterAll(async () => {
  await stopWorker();
});

describe('the scenario', () => {
  it('puts the address where erasure must find it, and pg-boss jobs carry only the outbox id', async () => {
    expect(await tablesHolding(ADA)).toEqual(
      ['mailroom.delivery_attempt', 'mailroom.delivery_event', ...(optOuts ? ['mailroom.opt_out'] : []), 'mailroom.outbox', 'mailroom.suppression'],
    );
    expect(await tablesHolding('Lovelace')).toEqual(['mailroom.outbox']);
    const { rows: attempts } = await s.pool.query('select error_message from mailroom.delivery_attempt where outbox_id = $1', [ids.failed]);
    expect(attempts[0].error_message).toContain(`<${ADA}>`);
    // What the relay puts in a job: the outbox id and nothing else.
    const { rows: jobs } = await s.pool.query(`select data from public.published_job_data`);
    expect(jobs.length).toBeGreaterThanOrEqual(1);
    for (const job of jobs) expect(Object.keys(job.data)).toEqual(['outboxId']);
    expect(Object.fromEntries(await Promise.all(Object.entries(ids).map(async ([k, id]) => [k, await status(id)])))).toEqual({
      sent: 'sent', bobSent: 'sent', failed: 'failed', suppressed: 'suppressed', pending: 'pending', bobPending: 'pending',
    });
  });
});

describe('mailroom forget', () => {
  it.each([
    [[], "argument 'address'"],
    [['not-an-address'], 'address:'],
    [['ada@example'], 'address:'],
    [[ADA, '--batch-size', '0'], '--batch-size'],
    [[ADA, '--requested-by', `Ada herself (${ADA.toUpperCase()})`], '--requested-by'],
  ])('refuses %j with an error naming the argument, and erases nothing', async (args, named) => {
    const before = await schemaSnapshot();
    const { code, output } = await cli(args);
    expect(code, output).not.toBe(0);
    expect(output).toContain(named);
    expect(output).not.toMatch(/\n\s+at /); // one line, no stack
    expect(await schemaSnapshot()).toEqual(before);
  });

  it('erases the address from every table in short batches, keeping what the audit views count', async () => {
    const audit = await auditCounts();
    const bob = await bobsRows();
    const { rows: ownAttempts } = await s.pool.query('select count(*)::int as n from mailroom.delivery_attempt where outbox_id = any($1)', [
      [ids.sent, ids.failed, ids.suppressed, ids.pending],
    ]);

    const { code, output } = await cli(['Ada@Example.TEST', '--requested-by', 'support ticket 4411', '--batch-size', '2', '--json']);
    expect(code, output).toBe(0);
    const result = JSON.parse(output);
    expect(result).toEqual({
      erasure: expect.any(Number),
      outbox: 4,
      cancelled: 1,
      attempts: ownAttempts[0].n,
      events: 2,
      suppressions: optOuts ? 2 : 1,
      left: 0,
    });

    // Nowhere, in no case: not the address, not the name from the props.
    expect(await tablesHolding(ADA)).toEqual([]);
    expect(await tablesHolding('Lovelace')).toEqual([]);

    // The rows stay, anonymised: counted as before, the waiting one cancelled.
    const { rows } = await s.pool.query(
      `select id, xmin::text as xmin, recipient, props, idempotency_key, status, last_error, attempts from mailroom.outbox where id = any($1)`,
      [[ids.sent, ids.failed, ids.suppressed, ids.pending]],
    );
    const row = Object.fromEntries(rows.map((r) => [r.id, r]));
    for (const r of rows) {
      expect(r.recipient).toBe(PLACEHOLDER);
      expect(r.props).toEqual({});
    }
    expect(row[ids.sent].idempotency_key).toBe(`erased:${ids.sent}`);
    expect(row[ids.pending].idempotency_key).toBe(`erased:${ids.pending}`);
    expect(row[ids.failed].idempotency_key).toBeNull();
    expect([row[ids.sent].status, row[ids.failed].status, row[ids.suppressed].status, row[ids.pending].status]).toEqual(['sent', 'failed', 'suppressed', 'cancelled']);
    expect(row[ids.pending].last_error).toMatch(/erased/);
    // The reason of the refusal is kept, without the address.
    expect(row[ids.failed].last_error).toContain(`550 5.1.1 <${PLACEHOLDER}>: Recipient address rejected: User unknown`);
    const { rows: attempts } = await s.pool.query('select error_message from mailroom.delivery_attempt where outbox_id = $1', [ids.failed]);
    expect(attempts[0].error_message).toContain(`<${PLACEHOLDER}>`);
    // Each batch was its own transaction: 4 rows in batches of 2 were written by 2 of them.
    expect(new Set(rows.map((r) => r.xmin)).size).toBeGreaterThanOrEqual(2);

    const { rows: events } = await s.pool.query(
      `select address, payload, event_key, event, hard, reason from mailroom.delivery_event where address = $1 order by id`,
      [PLACEHOLDER],
    );
    expect(events).toEqual([
      { address: PLACEHOLDER, payload: {}, event_key: null, event: 'bounce', hard: true, reason: `mailbox ${PLACEHOLDER} unknown` },
      { address: PLACEHOLDER, payload: {}, event_key: null, event: 'bounce', hard: false, reason: 'mailbox full' },
    ]);
    expect((await s.pool.query('select address from mailroom.suppression order by address')).rows).toEqual([{ address: BOB }]);

    // The audit views count what they counted; only the waiting row moved, to cancelled.
    const after = await auditCounts();
    expect(after.deliveriesByTemplate).toEqual(audit.deliveriesByTemplate);
    expect(after.lastAttempts).toEqual(audit.lastAttempts);
    expect(after.failures).toEqual(audit.failures);
    expect(after.latency).toEqual(audit.latency);
    expect(after.deliveriesByStatus).toEqual({
      ...audit.deliveriesByStatus,
      pending: audit.deliveriesByStatus.pending! - 1,
      cancelled: (audit.deliveriesByStatus.cancelled ?? 0) + 1,
    });

    // Bob's rows, attempts, events and suppression: not even rewritten.
    expect(await bobsRows()).toEqual(bob);

    // The erasure is on record, without the address.
    const { rows: erasures } = await s.pool.query('select * from mailroom.erasure');
    expect(erasures).toEqual([
      expect.objectContaining({
        id: String(result.erasure),
        requested_by: 'support ticket 4411',
        outbox_rows: 4,
        cancelled_rows: 1,
        attempt_rows: ownAttempts[0].n,
        event_rows: 2,
        suppression_rows: optOuts ? 2 : 1,
        rows_left: 0,
        started_at: expect.any(Date),
        finished_at: expect.any(Date),
      }),
    ]);
  });

  it('a second run finds nothing, writes nothing and says 0', async () => {
    const before = await schemaSnapshot();
    const { code, output } = await cli([ADA]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/nothing to erase/);
    expect(output).toMatch(/\b0 rows changed/);
    expect(await schemaSnapshot()).toEqual(before);
  });
});

describe('mailroom.forget() in SQL', () => {
  it('names bad input in DETAIL as enqueue does, and erases nothing', async () => {
    const before = await schemaSnapshot();
    for (const [call, field] of [
      [`select * from mailroom.forget(null)`, 'field=address'],
      [`select * from mailroom.forget('not an address')`, 'field=address'],
      [`select * from mailroom.forget('${PLACEHOLDER}')`, 'field=address'],
      [`select * from mailroom.forget('${BOB}', batch_size => 0)`, 'field=batch_size'],
      [`select * from mailroom.forget('${BOB}', requested_by => 'for ${BOB.toUpperCase()}')`, 'field=requested_by'],
      [`select * from mailroom.forget('${BOB}', erasure => 999999)`, 'field=erasure'],
    ] as const) {
      const error = await s.pool.query(call).then(() => undefined, (e: pg.DatabaseError) => e);
      expect(error, call).toBeInstanceOf(Error);
      expect(error!.detail, call).toBe(field);
      expect(error!.message, call).toMatch(/^mailroom\.forget: /);
    }
    expect(await schemaSnapshot()).toEqual(before);
  });

  it('compares addresses as the suppression list does, in any script and case, whatever lower() does', async () => {
    // É and its capital, the Kelvin sign for k, long s for s: one address to
    // mailroom.normalize_address, not to lower() under every locale.
    const spellings = ['Élodie.Kas@Example.test', 'ÉLODIE.\u212Aa\u017F@example.TEST', 'élodie.kas@example.test'];
    const { rows } = await s.pool.query<{ id: string }>(
      `insert into mailroom.outbox (template, recipient, props, status, last_error)
       select 'account-confirm', r, '{"name": "Élodie Kas"}', 'failed', '550 5.1.1 <' || upper(r) || '>: User unknown'
         from unnest($1::text[]) r returning id`,
      [spellings],
    );
    await s.pool.query(
      `insert into mailroom.delivery_attempt (outbox_id, attempt, transport, outcome, error_class, response_code, error_message, started_at)
       select id, 1, 'smtp', 'failed', 'permanent', 550, last_error, now() from mailroom.outbox where id = any($1)`,
      [rows.map((r) => r.id)],
    );
    const result = (await s.pool.query(`select * from mailroom.forget('ÉLODIE.KAS@EXAMPLE.TEST')`)).rows[0];
    expect(result).toMatchObject({ outbox_rows: 3, attempt_rows: 3, rows_left: 0, done: true });
    expect(await tablesHolding('élodie.kas@example.test', ['mailroom'])).toEqual([]);
    expect(await tablesHolding('Élodie Kas', ['mailroom'])).toEqual([]);
    const { rows: texts } = await s.pool.query('select error_message from mailroom.delivery_attempt where outbox_id = any($1)', [rows.map((r) => r.id)]);
    expect(texts.map((r) => r.error_message)).toEqual(Array(3).fill(`550 5.1.1 <${PLACEHOLDER}>: User unknown`));
  });

  it('leaves a row being sent right now, and its suppression, for a later run, and says so', async () => {
    await stopWorker(); // so that nothing but this test moves the row below
    const GRACE = 'grace@example.test';
    const { rows } = await s.pool.query<{ id: string }>(
      `insert into mailroom.outbox (template, recipient, props, status, attempts, sent_at, job_id, queued_at)
       values ('account-confirm', 'Grace@Example.test', '{"name": "Grace Hopper"}', 'sent', 1, now(), gen_random_uuid(), now()),
              ('account-confirm', 'grace@example.test', '{"name": "Grace Hopper"}', 'sending', 1, null, gen_random_uuid(), now())
       returning id`,
    );
    const sending = rows[1]!.id;
    await s.pool.query(`insert into mailroom.suppression (address, reason) values ($1, 'manual')`, [GRACE]);

    // The CLI: the sent row goes, the one in flight stays, and the exit code says "try again later".
    const first = await cli([GRACE, '--json']);
    expect(first.code, first.output).toBe(75);
    expect(JSON.parse(first.output)).toMatchObject({ outbox: 1, suppressions: 0, left: 1 });
    expect((await s.pool.query('select recipient, status from mailroom.outbox where id = $1', [sending])).rows[0]).toEqual({ recipient: GRACE, status: 'sending' });
    expect((await s.pool.query('select address from mailroom.suppression where address = $1', [GRACE])).rows).toHaveLength(1);

    // The worker records the send; the next run (SQL, as a non-Node team calls it) takes the rest.
    await s.pool.query(`update mailroom.outbox set status = 'sent', sent_at = now() where id = $1`, [sending]);
    const forget = async () => (await s.pool.query(`select * from mailroom.forget($1, requested_by => 'ticket 7', batch_size => 1)`, ['GRACE@example.test'])).rows[0];
    const second = await forget();
    expect(second).toMatchObject({ outbox_rows: 1, cancelled_rows: 0, suppression_rows: 0, done: false });
    // A run of several calls adds to one erasure record.
    const third = (await s.pool.query(`select * from mailroom.forget($1, batch_size => 1, erasure => $2)`, [GRACE, second.erasure_id])).rows[0];
    expect(third).toMatchObject({ erasure_id: second.erasure_id, outbox_rows: 0, suppression_rows: 1, rows_left: 0, done: true });
    const { rows: record } = await s.pool.query('select requested_by, outbox_rows, suppression_rows, rows_left, finished_at from mailroom.erasure where id = $1', [second.erasure_id]);
    expect(record[0]).toEqual({ requested_by: 'ticket 7', outbox_rows: 1, suppression_rows: 1, rows_left: 0, finished_at: expect.any(Date) });

    expect(await forget()).toEqual({
      erasure_id: null, outbox_rows: 0, cancelled_rows: 0, attempt_rows: 0, event_rows: 0, suppression_rows: 0, rows_left: 0, done: true,
    });
    expect(await tablesHolding(GRACE)).toEqual([]);
    expect(await tablesHolding('Hopper')).toEqual([]);
  });
});
