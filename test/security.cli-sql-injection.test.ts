// SQL injection through the CLI: every argument that reaches SQL (list filters,
// show, replay, cancel, suppress add/remove and --reason) is data. The real CLI
// runs as a child process; afterwards no other row changed, every table is there,
// and no output leaks SQL or a stack.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueEmail } from './support/mailroom.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { runCli } from './support/worker.ts';

let database: TestDatabase;
let pool: pg.Pool;
let env: Record<string, string>;
let quoted: string; // a row whose recipient holds a quote, as real addresses may

const PAYLOADS = [
  `x' or '1'='1`,
  `'; drop table mailroom.outbox; --`,
  `%' or recipient like '%`,
  `\\'; select pg_sleep(10); --`,
  `a@example.test'; delete from mailroom.suppression; --`,
];
/** For arguments a format check refuses before any SQL: one payload that proves the check is anchored. */
const UUID_PREFIXED = [`00000000-0000-4000-8000-000000000000' or '1'='1`];
const ADDRESS_SHAPED = [`a@example.test' or '1'='1`];
const NAME_SHAPED = [`failed' or status <> 'failed`];

/** What a leak of SQL, of the driver or of a stack would look like. */
const LEAK = /syntax error|SQLSTATE|at character|\bat .*\.(ts|js):\d+|node_modules|pg-protocol|DatabaseError|relation "|select |update |delete |insert /i;

async function snapshot() {
  const { rows } = await pool.query(
    `select (select json_agg(o order by o.id) from (select id, status, attempts, max_attempts, updated_at, job_id from mailroom.outbox) o) as outbox,
            (select json_agg(s order by s.address) from (select address, reason from mailroom.suppression) s) as suppression,
            (select count(*)::int from mailroom.delivery_attempt) as attempts,
            (select array_agg(c order by c) from unnest(array['mailroom.outbox', 'mailroom.delivery_attempt', 'mailroom.suppression', 'mailroom.template', 'mailroom.delivery_event']) c
              where to_regclass(c) is not null) as tables`,
  );
  return rows[0];
}

beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url });
  env = { DATABASE_URL: database.url };
  const props = { token: 'token-0123456789abcdef' };
  quoted = await enqueueEmail(pool, { template: 'account-confirm', to: "o'brien@example.test", props });
  for (const to of ['one@example.test', 'two@example.test']) await enqueueEmail(pool, { template: 'account-confirm', to, props });
  const failed = await enqueueEmail(pool, { template: 'account-reset', to: 'failed@example.test', props: { ...props, expiresAt: '2026-12-01T00:00:00Z' } });
  await pool.query(`update mailroom.outbox set status = 'failed', attempts = 1, last_error = 'test' where id = $1`, [failed]);
  await pool.query(`insert into mailroom.suppression (address, reason) values ('kept@example.test', 'manual')`);
});
afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

type Outcome = 'data' | 'refused';
interface Command {
  name: string;
  args: (payload: string) => string[];
  /** data: runs and treats the payload as a value (exit 0); refused: exit 1 naming the field. */
  expect: Outcome;
  field?: string;
  /** The payloads to try (each run is a Node process, about 1-4 s here): by default those for values that reach SQL. */
  payloads?: string[];
}

const commands: Command[] = [
  { name: 'list --recipient', args: (p) => ['list', '--recipient', p, '--json'], expect: 'data' },
  { name: 'list --template', payloads: NAME_SHAPED, args: (p) => ['list', '--template', p], expect: 'refused', field: '--template' },
  { name: 'list --status', payloads: NAME_SHAPED, args: (p) => ['list', '--status', p], expect: 'refused', field: '--status' },
  { name: 'show', payloads: UUID_PREFIXED, args: (p) => ['show', p], expect: 'refused', field: 'id' },
  { name: 'replay <id>', payloads: UUID_PREFIXED, args: (p) => ['replay', p], expect: 'refused', field: 'id' },
  { name: 'replay --recipient', args: (p) => ['replay', '--status', 'failed', '--recipient', p, '--json'], expect: 'data' },
  { name: 'cancel', payloads: UUID_PREFIXED, args: (p) => ['cancel', p], expect: 'refused', field: 'id' },
  { name: 'suppress add', payloads: ADDRESS_SHAPED, args: (p) => ['suppress', 'add', p], expect: 'refused', field: 'address' },
  { name: 'suppress remove', payloads: ADDRESS_SHAPED, args: (p) => ['suppress', 'remove', p], expect: 'refused', field: 'address' },
];

describe('CLI arguments that reach SQL are data', () => {
  for (const command of commands) {
    it(`${command.name}: ${(command.payloads ?? PAYLOADS).length} payload(s) change nothing and leak nothing`, async () => {
      const before = await snapshot();
      const payloads = command.payloads ?? PAYLOADS;
      // Two at a time: each run is a Node process.
      for (let i = 0; i < payloads.length; i += 2) {
        const runs = await Promise.all(payloads.slice(i, i + 2).map((p) => runCli(command.args(p), env).then((r) => ({ ...r, payload: p }))));
        for (const { code, output, payload } of runs) {
          const context = `${command.name} ${JSON.stringify(payload)} -> exit ${code}: ${output}`;
          // Echoing the operator's own argument back is fine; anything else SQL-like is a leak.
          expect(output.split(payload).join('<payload>'), context).not.toMatch(LEAK);
          if (command.expect === 'data') {
            expect(code, context).toBe(0);
            // No row matches a payload as an address: the filter compared it as a value.
            const parsed = JSON.parse(output);
            expect(Array.isArray(parsed) ? parsed : parsed.matched, context).toEqual([]);
          } else {
            expect(code, context).toBe(1);
            expect(output, context).toContain(`mailroom: ${command.field}: `);
          }
        }
      }
      expect(await snapshot()).toEqual(before);
    });
  }

  it('a quote in a real address matches exactly that row', async () => {
    const { code, output } = await runCli(['list', '--recipient', "O'Brien@example.test", '--json'], env);
    expect(code).toBe(0);
    expect(JSON.parse(output).map((r: { id: string }) => r.id)).toEqual([quoted]);
  });

  it('suppress add stores an address and a --reason that are injection attempts verbatim, and touches nothing else', async () => {
    const before = await snapshot();
    const address = `x'or'1'='1--@example.test`; // a valid address, quotes and all
    const reason = `x'); delete from mailroom.outbox; drop table mailroom.suppression; --`;
    const added = await runCli(['suppress', 'add', address, '--reason', reason], env);
    expect(added.code, added.output).toBe(0);
    const { rows } = await pool.query(`select address, reason from mailroom.suppression where reason = $1`, [reason]);
    expect(rows).toEqual([{ address, reason }]);
    const removed = await runCli(['suppress', 'remove', address], env);
    expect(removed.code, removed.output).toBe(0);
    expect(await snapshot()).toEqual(before);
  });
});
