// The operator service behind the admin pages (src/admin/outbox-admin.ts), on a real
// database: keyset pages neither skip nor repeat rows (even rows created in the same
// transaction, so with equal created_at), the date range is inclusive of whole UTC
// days, bulk replay and cancel act only after the confirmed count still holds, and
// the operator actions are recorded with who did them (the overview's numbers:
// test/admin.dashboard.test.ts).
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connect, type Db } from '../src/db/connect.ts';
import { buildServer, type Server } from '../src/http/server.ts';
import { createLogger } from '../src/logger.ts';
import {
  cancelFilter, countBulk, CountChangedError, decodeCursor, listPage, replayFilter, type RowFilter,
} from '../src/admin/outbox-admin.ts';
import { readFilter } from '../src/admin/http/plugin.tsx';
import { signInAdmin } from './support/admin.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { config as productConfig } from './support/mailroom.ts';

let database: TestDatabase;
let db: Db;
let pool: pg.Pool;

beforeAll(async () => {
  database = await createTestDatabase();
  db = connect(database.url, { max: 2, applicationName: 'mailroom-test-admin-list' });
  pool = db.pool;
});
afterAll(async () => {
  await db?.close();
  await database?.drop();
});
beforeEach(async () => {
  await pool.query('delete from mailroom.outbox');
});

/** Insert `n` rows in one statement: one transaction, so they share created_at unless given. */
async function seed(n: number, values: { status?: string; template?: string; recipient?: string; createdAt?: string } = {}) {
  const { rows } = await pool.query<{ id: string }>(
    `insert into mailroom.outbox (template, recipient, props, status, created_at)
     select $2, $3, '{"token": "token-0123456789abcdef"}', $4, coalesce($5::timestamptz, now())
       from generate_series(1, $1) returning id`,
    [n, values.template ?? 'account-confirm', values.recipient ?? 'ada@example.test', values.status ?? 'failed', values.createdAt ?? null],
  );
  return rows.map((r) => r.id);
}

async function allPages(filter: RowFilter, limit: number) {
  const seen: string[] = [];
  let after: string | null = null;
  let pages = 0;
  do {
    const page: Awaited<ReturnType<typeof listPage>> = await listPage(db.kysely, filter, { limit, ...(after ? { after: decodeCursor(after) } : {}) });
    seen.push(...page.rows.map((r) => r.id));
    after = page.next;
    pages++;
  } while (after && pages < 1000);
  return { seen, pages };
}

describe('the outbox list', () => {
  it('pages through rows with equal created_at without skipping or repeating any', async () => {
    const same = await seed(120); // one statement: one created_at
    const older = await seed(7, { createdAt: '2026-01-01T00:00:00.123456Z' });
    const { seen, pages } = await allPages({}, 25);
    expect(pages).toBe(Math.ceil(127 / 25));
    expect(new Set(seen).size).toBe(127);
    expect(new Set(seen)).toEqual(new Set([...same, ...older]));
    // Newest first; ties by id, descending.
    expect(seen.slice(-7)).toEqual([...older].sort().reverse());
  });

  it('keeps microseconds in the cursor: rows a millisecond apart are neither skipped nor repeated', async () => {
    const a = await seed(1, { createdAt: '2026-05-01T10:00:00.000100Z' });
    const b = await seed(1, { createdAt: '2026-05-01T10:00:00.000900Z' });
    const c = await seed(1, { createdAt: '2026-05-01T10:00:00.000500Z' });
    const { seen } = await allPages({}, 1);
    expect(seen).toEqual([...b, ...c, ...a]);
  });

  it('filters by status, template, recipient (any case) and a range of whole UTC days', async () => {
    const inRange = await seed(3, { createdAt: '2026-03-10T23:59:59.999Z', recipient: 'Grace@Example.test' });
    await seed(2, { createdAt: '2026-03-11T00:00:00Z', recipient: 'grace@example.test' });
    await seed(2, { createdAt: '2026-03-09T12:00:00Z', status: 'sent', template: 'account-reset' });
    const { filter } = readFilter({ from: '2026-03-10', to: '2026-03-10' });
    expect((await listPage(db.kysely, filter)).rows.map((r) => r.id).sort()).toEqual([...inRange].sort());
    expect((await listPage(db.kysely, readFilter({ recipient: 'GRACE@example.TEST' }).filter)).rows).toHaveLength(5);
    expect((await listPage(db.kysely, readFilter({ status: 'sent' }).filter)).rows).toHaveLength(2);
    expect((await listPage(db.kysely, readFilter({ template: 'account-reset', status: 'failed' }).filter)).rows).toHaveLength(0);
    expect((await listPage(db.kysely, readFilter({ from: '2026-03-09', to: '2026-03-11' }).filter)).rows).toHaveLength(7);
  });

  it('refuses a bad status, date or cursor with a message naming it', () => {
    expect(() => readFilter({ status: 'lost' })).toThrow(/status: "lost" is not one of/);
    expect(() => readFilter({ from: '2026-02-30' })).toThrow(/from: "2026-02-30" is not a date/);
    expect(() => readFilter({ from: '2026-03-02', to: '2026-03-01' })).toThrow(/to: is before from/);
    expect(() => decodeCursor("2026-01-01T00:00:00.000000Z~x' or 1=1")).toThrow(/after: .* is not a list position/);
  });
});

describe('acting on every row of a filter', () => {
  it('replay: counts what it would change, and acts only while that count holds', async () => {
    const failed = await seed(4, { status: 'failed', template: 'weekly-digest' });
    await seed(2, { status: 'sent', template: 'weekly-digest' });
    const filter: RowFilter = { status: 'failed', template: 'weekly-digest' };
    expect(await countBulk(db.kysely, 'replay', filter)).toBe(4);

    // One more failed meanwhile: the confirmed 4 no longer holds, nothing happens.
    await seed(1, { status: 'failed', template: 'weekly-digest' });
    await expect(replayFilter(db.kysely, filter, { expected: 4 })).rejects.toThrow(CountChangedError);
    expect((await pool.query(`select count(*)::int as n from mailroom.outbox where status = 'pending'`)).rows[0].n).toBe(0);

    const done = await replayFilter(db.kysely, filter, { expected: 5 });
    expect(done.replayed).toHaveLength(5);
    expect(done.replayed).toEqual(expect.arrayContaining(failed));
    const { rows } = await pool.query(`select status, count(*)::int as n from mailroom.outbox group by status order by status`);
    expect(rows).toEqual([{ status: 'pending', n: 5 }, { status: 'sent', n: 2 }]);
  });

  it('replay by filter needs a status, like the CLI; cancel needs some filter', async () => {
    await expect(countBulk(db.kysely, 'replay', { template: 'weekly-digest' })).rejects.toThrow(/status: is required/);
    await expect(countBulk(db.kysely, 'cancel', {})).rejects.toThrow(/every row would match/);
  });

  it('cancel: only rows not sent (pending, queued, retrying), after the same count check', async () => {
    await seed(3, { status: 'pending', recipient: 'stop@example.test' });
    await seed(2, { status: 'retrying', recipient: 'stop@example.test' });
    await seed(1, { status: 'sending', recipient: 'stop@example.test' });
    await seed(1, { status: 'sent', recipient: 'stop@example.test' });
    const filter: RowFilter = { recipient: 'stop@example.test' };
    expect(await countBulk(db.kysely, 'cancel', filter)).toBe(5);
    await expect(cancelFilter(db.kysely, filter, { expected: 6 })).rejects.toThrow(/5 row\(s\) match now, not the 6 confirmed/);
    const done = await cancelFilter(db.kysely, filter, { expected: 5 });
    expect(done.cancelled).toHaveLength(5);
    const { rows } = await pool.query(`select status, count(*)::int as n from mailroom.outbox group by status order by status`);
    expect(rows).toEqual([
      { status: 'cancelled', n: 5 },
      { status: 'sending', n: 1 },
      { status: 'sent', n: 1 },
    ]);
  });

  it('over HTTP: a changed count shows the new count to confirm (409) instead of acting', async () => {
    const token = 'list-and-bulk-admin-token-0123456789';
    const server: Server = buildServer({ config: productConfig, db, logger: createLogger({ level: 'silent' }), adminToken: token });
    try {
      await seed(2, { status: 'failed', template: 'activity-alert' });
      const admin = await signInAdmin(server, token);
      const confirm = await admin.get('/admin/outbox/bulk?action=replay&status=failed&template=activity-alert');
      expect(confirm.body).toContain('2 rows would be replayed');
      await seed(1, { status: 'failed', template: 'activity-alert' });
      const post = (expected: string) =>
        admin.post('/admin/outbox/bulk', { action: 'replay', status: 'failed', template: 'activity-alert', expected });
      const stale = await post('2');
      expect(stale.statusCode).toBe(409);
      expect(stale.body).toContain('3 rows would be replayed');
      expect((await pool.query(`select count(*)::int as n from mailroom.outbox where status = 'pending'`)).rows[0].n).toBe(0);
      const fresh = await post('3');
      expect(fresh.statusCode).toBe(200);
      expect(fresh.body).toContain('3 of 3 row(s) replayed');
    } finally {
      await server.close();
    }
  });
});

describe('the suppression list page', () => {
  it('adds (checking the address), finds by prefix (a % is a character), and removes', async () => {
    const token = 'suppression-admin-token-0123456789';
    const server: Server = buildServer({ config: productConfig, db, logger: createLogger({ level: 'silent' }), adminToken: token });
    try {
      const { get, post } = await signInAdmin(server, token);
      expect((await post('/admin/suppression/add', { address: 'not an address' })).statusCode).toBe(400);
      const added = await post('/admin/suppression/add', { address: 'Bounce@Example.test', reason: 'asked by support' });
      expect(added.headers.location).toBe('/admin/suppression?notice=added');
      await post('/admin/suppression/add', { address: 'other@example.test' });
      const found = await get('/admin/suppression?q=BOUNCE');
      expect(found.body).toContain('bounce@example.test');
      expect(found.body).toContain('asked by support');
      expect(found.body).not.toContain('other@example.test');
      expect((await get('/admin/suppression?q=%25')).body).not.toContain('@example.test</td>');
      expect((await post('/admin/suppression/remove', { address: 'bounce@example.test' })).headers.location).toBe('/admin/suppression?notice=removed');
      expect((await get('/admin/suppression')).body).not.toContain('bounce@example.test');
    } finally {
      await server.close();
      await pool.query('delete from mailroom.suppression');
    }
  });
});
