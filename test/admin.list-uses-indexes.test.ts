// The outbox list stays an index read as the table grows: seed an outbox (200,000
// rows by default, ADMIN_EXPLAIN_ROWS to change; `npm run bench -- explain` does a
// million with timings, see docs/performance.md), ANALYZE, and EXPLAIN every query
// the list page sends (each filter, alone and in pairs, first page and after a
// cursor deep in the list). None may read the outbox with a Seq Scan, and none may
// sort more than a handful of rows: the index hands rows over in the list's order
// (for one recipient's few rows the planner may fetch them by bitmap and sort them).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Db } from '../src/db/connect.ts';
import { explainListQueries, listCases, seedOutbox, type ListPlan } from '../bench/explain.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

const ROWS = Number(process.env.ADMIN_EXPLAIN_ROWS ?? 200_000);

let database: TestDatabase;
let db: Db;
let pool: pg.Pool;
let plans: ListPlan[];

beforeAll(async () => {
  database = await createTestDatabase();
  db = connect(database.url, { max: 2, applicationName: 'mailroom-test-explain' });
  pool = db.pool;
  await seedOutbox(pool, ROWS);
  plans = await explainListQueries(db.kysely, pool);
}, 240_000);
afterAll(async () => {
  await db?.close();
  await database?.drop();
});

describe(`the outbox list at ${ROWS} rows`, () => {
  it('has a plan for every case', () => {
    expect(plans.map((p) => p.name)).toEqual(listCases().map((c) => c.name));
  });

  for (const c of listCases()) {
    it(`${c.name}: reads an index of the outbox, no Seq Scan, no big Sort`, () => {
      const plan = plans.find((p) => p.name === c.name)!;
      expect(plan.seqScanOnOutbox, plan.nodes.join(' -> ')).toBe(false);
      expect(plan.indexes.length, plan.nodes.join(' -> ')).toBeGreaterThan(0);
      expect(plan.sortRows, plan.nodes.join(' -> ')).toBeLessThan(1000);
    });
  }
});
