// The admin overview's numbers (src/admin/dashboard.ts over the rollups of
// migrations/0020), on a real database: tries land in their minute, the minutes not
// yet rolled up are counted from the attempts (live), rolling up twice or four times
// at once counts once, errors group by pattern (1,000 failures, 3 messages: 3
// groups), latency percentiles are the histogram's upper bounds, filters narrow,
// the drill-down finds exactly the rows behind a bar, counts by status stop at the
// cap, and the rollups hold no address. Also: who replayed or cancelled a row.
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connect, type Db } from '../src/db/connect.ts';
import { rollUp, rollUpAll } from '../src/audit/chart-rollups.ts';
import { COUNT_CAP, dashboard, percentilesOf } from '../src/admin/dashboard.ts';
import { cancelRow, countBulk, listPage, replayIds, showRow, timelineOf } from '../src/admin/outbox-admin.ts';
import { readDashboardFilter, readFilter } from '../src/admin/http/plugin.tsx';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { seedTries, type Tries } from './support/traffic.ts';

let database: TestDatabase;
let db: Db;
let pool: pg.Pool;

beforeAll(async () => {
  database = await createTestDatabase();
  db = connect(database.url, { max: 6, applicationName: 'mailroom-test-dashboard' });
  pool = db.pool;
});
afterAll(async () => {
  await db?.close();
  await database?.drop();
});
beforeEach(async () => {
  await pool.query(`truncate mailroom.outbox, mailroom.rollup_tries, mailroom.rollup_latency, mailroom.rollup_errors,
                             mailroom.rollup_backlog, mailroom.rollup_state cascade`);
});

const tries = (t: Tries) => seedTries(pool, t);

/** The index of a minute among the window's buckets. */
const slot = (data: { buckets: Date[] }, minute: Date) => data.buckets.findIndex((b) => b.getTime() === minute.getTime());
const lastBucket = (data: { buckets: Date[] }) => data.buckets.length - 1;
const sum = (values: number[]) => values.reduce((n, v) => n + v, 0);

describe('the overview charts', () => {
  it('counts tries in their minute, the last minutes live from the attempts, and rolling up again adds nothing', async () => {
    const { minute: at30 } = await tries({ n: 7, minutesAgo: 30 });
    await tries({ n: 3, minutesAgo: 30, outcome: 'failed' });
    const { minute: at10 } = await tries({ n: 2, minutesAgo: 10, outcome: 'retry' });
    // Too recent to be rolled up (two minutes of settling): counted live.
    const { minute: atNow } = await tries({ n: 4, minutesAgo: 0 });

    const data = await dashboard(db.kysely, readDashboardFilter({}));
    expect(data.buckets).toHaveLength(60);
    expect(data.tries.sent[slot(data, at30)]).toBe(7);
    expect(data.tries.failed[slot(data, at30)]).toBe(3);
    expect(data.tries.retried[slot(data, at10)]).toBe(2);
    expect(data.tries.sent[slot(data, atNow)]).toBe(4);
    expect([sum(data.tries.sent), sum(data.tries.failed), sum(data.tries.retried)]).toEqual([11, 3, 2]);
    const { rows: rolled } = await pool.query(`select coalesce(sum(sent), 0)::int as sent from mailroom.rollup_tries where grain = 'minute'`);
    expect(rolled[0].sent).toBe(7); // the 4 of this minute are not rolled up yet

    // Again, and four at once: the advisory lock and the mark keep each try counted once.
    await Promise.all([rollUp(db.kysely), rollUp(db.kysely), rollUp(db.kysely), rollUp(db.kysely)]);
    const again = await dashboard(db.kysely, readDashboardFilter({}));
    expect([sum(again.tries.sent), sum(again.tries.failed), sum(again.tries.retried)]).toEqual([11, 3, 2]);
    expect(again.byTemplate).toEqual([{ template: 'account-confirm', sent: 11, failed: 3, retried: 2, failureRate: 3 / 14 }]);

    // The week by hour holds the same tries.
    const week = await dashboard(db.kysely, readDashboardFilter({ window: 'week' }));
    expect(week.buckets).toHaveLength(168);
    expect([sum(week.tries.sent), sum(week.tries.failed), sum(week.tries.retried)]).toEqual([11, 3, 2]);
  });

  it('groups 1,000 failures with 3 distinct messages into 3 groups with their counts, no address kept', async () => {
    await tries({ n: 600, minutesAgo: 20, outcome: 'failed', message: (i) => `550 5.1.1 <user${i}@example.test>: Recipient address rejected: no such user` });
    await tries({ n: 300, minutesAgo: 15, outcome: 'failed', message: (i) => `552 mailbox of bob${i}@example.test full (queue id 9F3A${i}B77C1D)` });
    await tries({ n: 100, minutesAgo: 5, outcome: 'failed', message: (i) => `554 message ${crypto.randomUUID()} refused, ticket ${10_000 + i}` });
    const data = await dashboard(db.kysely, readDashboardFilter({}));
    expect(data.errors.map((e) => [e.tries, e.pattern])).toEqual([
      [600, '550 5.1.1 <address>: Recipient address rejected: no such user'],
      [300, '552 mailbox of <address> full (queue id <n>)'],
      [100, '554 message <id> refused, ticket <n>'],
    ]);
    const { rows } = await pool.query(
      `select count(*)::int as n from mailroom.rollup_errors e where e::text ~ '@' or e::text ~* 'user[0-9]|bob[0-9]'`,
    );
    expect(rows[0].n).toBe(0);
  });

  it('reads latency percentiles as the histogram upper bounds (within 19 %)', async () => {
    const { minute } = await tries({ n: 100, minutesAgo: 20, latencyMs: (i) => (i < 90 ? 100 : 2_000) });
    const data = await dashboard(db.kysely, readDashboardFilter({}));
    const bucket = data.latency[slot(data, minute)]!;
    expect(bucket.p50).toBeGreaterThanOrEqual(100);
    expect(bucket.p50).toBeLessThan(119);
    expect(bucket.p95).toBeGreaterThanOrEqual(2_000);
    expect(bucket.p95).toBeLessThan(2_380);
    expect(bucket.p99).toBe(bucket.p95);
    expect(data.latency.filter((l) => l !== null)).toHaveLength(1);
    expect(percentilesOf([])).toBeNull();
  });

  it('narrows by template and transport', async () => {
    await tries({ n: 5, minutesAgo: 8, template: 'account-confirm', transport: 'smtp' });
    await tries({ n: 2, minutesAgo: 8, template: 'password-reset', transport: 'mailjet', outcome: 'failed' });
    const byTemplate = await dashboard(db.kysely, readDashboardFilter({ template: 'password-reset' }));
    expect([sum(byTemplate.tries.sent), sum(byTemplate.tries.failed)]).toEqual([0, 2]);
    const byTransport = await dashboard(db.kysely, readDashboardFilter({ transport: 'smtp' }));
    expect([sum(byTransport.tries.sent), sum(byTransport.tries.failed)]).toEqual([5, 0]);
    expect(byTransport.transports).toEqual(['mailjet', 'smtp']);
    expect(() => readDashboardFilter({ window: 'month' })).toThrow(/window: "month" is not a window/);
    expect(() => readDashboardFilter({ template: "x' or 1=1" })).toThrow(/template: .* is not a template name/);
  });

  it('drills down to exactly the rows behind a bar, and a bulk replay confirms their count', async () => {
    const { ids: failedThen, minute: from } = await tries({ n: 4, minutesAgo: 12, outcome: 'failed', template: 'password-reset' });
    await tries({ n: 3, minutesAgo: 11, outcome: 'failed', template: 'password-reset' });
    await tries({ n: 5, minutesAgo: 12 });
    const query = { status: 'failed', outcome: 'failed', tried_from: from.toISOString(), tried_to: new Date(from.getTime() + 60_000).toISOString() };
    const { filter } = readFilter(query);
    const page = await listPage(db.kysely, filter);
    expect(page.rows.map((r) => r.id).sort()).toEqual([...failedThen].sort());
    expect(await countBulk(db.kysely, 'replay', filter)).toBe(4);
    expect(() => readFilter({ tried_from: '2026-12-02T25:00Z' })).toThrow(/tried_from: "2026-12-02T25:00Z" is not an instant/);
    expect(() => readFilter({ outcome: 'bounced' })).toThrow(/outcome: "bounced" is not one of sent, retry, failed/);
    expect(() => readFilter({ tried_from: '2026-12-02T10:00Z', tried_to: '2026-12-02T10:00Z' })).toThrow(/tried_to: is not after tried_from/);
  });

  it('counts rows by status up to the cap, and samples the backlog', async () => {
    await pool.query(
      `insert into mailroom.outbox (template, recipient, status) select 'account-confirm', 'a' || i || '@example.test', 'sent' from generate_series(1, $1::int) i`,
      [COUNT_CAP + 5],
    );
    await pool.query(
      `insert into mailroom.outbox (template, recipient, status, send_after) select 'account-confirm', 'p' || i || '@example.test', 'pending', now() - interval '90 seconds'
         from generate_series(1, 3) i`,
    );
    const data = await dashboard(db.kysely, readDashboardFilter({}));
    expect(data.now.byStatus.sent).toBe(COUNT_CAP + 1);
    expect(data.now.byStatus.pending).toBe(3);
    expect(data.now.due).toBe(3);
    expect(data.now.oldestDueSeconds).toBeGreaterThanOrEqual(89);
    expect(data.backlog.due[lastBucket(data)]).toBe(3);
    await rollUpAll(db.kysely);
    const { rows } = await pool.query('select count(*)::int as n from mailroom.rollup_backlog');
    expect(rows[0].n).toBe(1); // once a minute, however often it runs
  });
});

describe('the rollups themselves', () => {
  it('keep minutes 2 days and hours 35 days, pruned once an hour; a catch-up of old history writes hours only', async () => {
    const old = `insert into mailroom.rollup_tries (grain, at, template, transport, sent) values
                   ('minute', now() - interval '3 days', 'account-confirm', 'smtp', 1), ('hour', now() - interval '40 days', 'account-confirm', 'smtp', 1)`;
    await pool.query(old);
    await tries({ n: 3, minutesAgo: 4 * 24 * 60 }); // 4 days ago: rolled up by the hour only
    await rollUpAll(db.kysely);
    const rows = async () =>
      (await pool.query(`select grain, count(*)::int as n, sum(sent)::int as sent from mailroom.rollup_tries group by 1 order by 1`)).rows;
    expect(await rows()).toEqual([{ grain: 'hour', n: 1, sent: 3 }]);
    // Within the hour, old rows stay until the next prune.
    await pool.query(old);
    await rollUp(db.kysely);
    expect(await rows()).toEqual([
      { grain: 'hour', n: 2, sent: 4 },
      { grain: 'minute', n: 1, sent: 1 },
    ]);
  });
});

describe('operator actions on the timeline', () => {
  it('records who replayed and cancelled a row, and when, in time order with its tries', async () => {
    const [id] = (await tries({ n: 1, minutesAgo: 3, outcome: 'failed' })).ids;
    expect((await replayIds(db.kysely, [id!], { actor: 'admin (203.0.113.7)' })).replayed).toEqual([id]);
    expect((await cancelRow(db.kysely, id!, { actor: 'cli (ops@host)' })).cancelled).toBe(true);
    await pool.query(`select mailroom.replay($1)`, [id]);
    const found = (await showRow(db.kysely, id!))!;
    const timeline = timelineOf(found);
    expect(timeline.map((e) => (e.kind === 'action' ? `${e.action} by ${e.actor}` : e.kind))).toEqual([
      'enqueued',
      'attempt',
      'replay by admin (203.0.113.7)',
      'cancel by cli (ops@host)',
      expect.stringMatching(/^replay by sql: /),
    ]);
    await expect(replayIds(db.kysely, [id!], { actor: 'two\nlines' })).rejects.toThrow(/actor: must be one line/);
    await expect(pool.query(`select mailroom.replay($1, false, '')`, [id])).rejects.toMatchObject({ detail: 'field=actor' });
  });
});
