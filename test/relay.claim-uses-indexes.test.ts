// The relay's claims stay index reads under a deep backlog: with 50,000 rows due
// in an outbox of 200,000, the planner, which cannot tell how many rows a claim
// takes (its limit is a parameter and a subquery), guessed a tenth of the due rows
// and hashed the whole outbox to find the claimed rows again (130-440 ms a claim
// at 300,000 rows; docs/performance.md). EXPLAIN each claim, and the sweeper's
// statement beside a full in-flight set whose leases ran out, as a custom and as a
// generic plan: no Seq Scan of the outbox may appear.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAIM_DUE_ROWS, CLAIM_FOR_SENDERS } from '../src/relay/claim.ts';
import { SWEEP } from '../src/worker/sweeper.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

let database: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 1 });
  await pool.query(
    `insert into mailroom.outbox (template, recipient, props, status, sent_at)
     select 'account-confirm', 'user' || i || '@example.test', '{"token": "seeded-token-0123456789"}'::jsonb,
            case when i % 4 = 0 then 'pending' else 'sent' end, case when i % 4 = 0 then null else now() end
       from generate_series(1, 200000) i`,
  );
  // A full in-flight set (RELAY_MAX_QUEUED) whose leases ran out: the sweeper's work.
  await pool.query(
    `insert into mailroom.outbox (template, recipient, props, status, job_id, queued_at, lease_expires_at)
     select 'account-confirm', 'lost' || i || '@example.test', '{"token": "seeded-token-0123456789"}'::jsonb,
            case when i % 2 = 0 then 'queued' else 'sending' end, gen_random_uuid(), now() - interval '1 hour', now() - interval '1 minute'
       from generate_series(1, 2000) i`,
  );
  await pool.query('analyze mailroom.outbox');
}, 240_000);
afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}
const flatten = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(flatten)];

async function planOf(text: string, values: string | null, mode: 'force_custom_plan' | 'force_generic_plan'): Promise<PlanNode[]> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query(`set local plan_cache_mode = ${mode}`);
    await client.query(`prepare claim as ${text}`);
    const { rows } = await client.query(`explain (format json) execute claim${values === null ? '' : `(${values})`}`);
    return flatten(rows[0]['QUERY PLAN'][0].Plan);
  } finally {
    await client.query('rollback');
    await client.query('deallocate all');
    client.release();
  }
}

const claims = [
  { name: 'the claim for pg-boss', text: CLAIM_DUE_ROWS, values: '50, 30, 2000, null' },
  { name: 'the claim for pg-boss, room known', text: CLAIM_DUE_ROWS, values: '50, 30, 2000, 1500' },
  { name: 'the claim that marks rows for its own senders', text: CLAIM_FOR_SENDERS, values: `50, 30, 2000, null, null, '{}', '{}'` },
  { name: 'the same, with a staging allowlist and categories', text: CLAIM_FOR_SENDERS, values: `50, 30, 2000, 1500, '{example.test}', '{account-confirm}', '{news}'` },
  { name: 'the sweep of 2,000 rows whose lease ran out', text: SWEEP, values: null },
];

describe('50,000 rows due and 2,000 leases run out in an outbox of 202,000', () => {
  for (const claim of claims) {
    for (const mode of ['force_custom_plan', 'force_generic_plan'] as const) {
      it(`${claim.name} (${mode === 'force_custom_plan' ? 'custom' : 'generic'} plan): reads the outbox by index only`, async () => {
        const nodes = await planOf(claim.text, claim.values, mode);
        const outboxScans = nodes.filter((n) => n['Relation Name'] === 'outbox');
        expect(outboxScans.length).toBeGreaterThan(0);
        expect(outboxScans.map((n) => n['Node Type']), JSON.stringify(nodes.map((n) => n['Node Type']))).not.toContain('Seq Scan');
      });
    }
  }
});
