// enqueue runs on whatever the app's transaction is: a Kysely transaction, a
// node-postgres client inside BEGIN, a pool, any `query(text, values)` object, and
// Knex and Drizzle transactions through the adapters in docs/executors.md (read from
// that file, so the docs' code is the code tested). Each one commits the email with
// the app's own row, or rolls both back; and the test helper reads through it too.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { sql as drizzleSql } from 'drizzle-orm';
import knexFactory, { type Knex } from 'knex';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailroomTesting } from 'mailroom/testing';
import { createMailroom, type Executor, type Queryable } from '../src/index.ts';
import { config, enqueueEmail } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';

const s = useScenario();
const root = fileURLToPath(new URL('..', import.meta.url));
const mailbox = mailroomTesting(config);
const props = { name: 'Ada', token: 'exec-token-0123456789abcdef' };

/** The ```ts block after `<!-- example: name -->` in a doc, written where it can import the repo's packages. */
async function docExample<T>(doc: string, name: string): Promise<T> {
  const text = await readFile(`${root}${doc}`, 'utf8');
  const match = new RegExp(`<!-- example: ${name} -->\\s*\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(text);
  if (!match) throw new Error(`${doc} has no example "${name}"`);
  const dir = `${root}test/.examples/`;
  await mkdir(dir, { recursive: true });
  const file = `${dir}${name}.ts`;
  await writeFile(file, match[1]!);
  return (await import(/* @vite-ignore */ file)) as T;
}

let knex: Knex;
let kysely: Kysely<any>;
let knexExecutor: (trx: Knex.Transaction) => Queryable;
let drizzleExecutor: (tx: any) => Queryable;

beforeAll(async () => {
  await s.pool.query('create table app_order (id serial primary key, ref text not null)');
  kysely = new Kysely({ dialect: new PostgresDialect({ pool: s.pool }) });
  knex = knexFactory({ client: 'pg', connection: s.database.url, pool: { min: 0, max: 2 } });
  ({ knexExecutor } = await docExample<{ knexExecutor: typeof knexExecutor }>('docs/executors.md', 'knex'));
  ({ drizzleExecutor } = await docExample<{ drizzleExecutor: typeof drizzleExecutor }>('docs/executors.md', 'drizzle'));
});

afterAll(async () => {
  await knex?.destroy();
});

/** How each kind of app opens its transaction and hands it to enqueue. */
const kinds: Record<string, <T>(work: (executor: Executor, insertOrder: (ref: string) => Promise<void>) => Promise<T>) => Promise<T>> = {
  'a Kysely transaction': (work) =>
    kysely.transaction().execute((trx) => work(trx, async (ref) => void (await sql`insert into app_order (ref) values (${ref})`.execute(trx)))),
  'a node-postgres client inside BEGIN': async (work) => {
    const client = await s.pool.connect();
    try {
      await client.query('begin');
      const result = await work(client, async (ref) => void (await client.query('insert into app_order (ref) values ($1)', [ref])));
      await client.query('commit');
      return result;
    } catch (error) {
      await client.query('rollback');
      throw error;
    } finally {
      client.release();
    }
  },
  'a Knex transaction (docs/executors.md adapter)': (work) =>
    knex.transaction((trx) => work(knexExecutor(trx), async (ref) => void (await trx('app_order').insert({ ref })))),
  'a Drizzle transaction (docs/executors.md adapter)': async (work) => {
    const db = drizzle(s.pool);
    return db.transaction((tx) => work(drizzleExecutor(tx), async (ref) => void (await tx.execute(drizzleSql`insert into app_order (ref) values (${ref})`))));
  },
};

const count = async (table: string, where: string, value: string) =>
  (await s.pool.query<{ n: number }>(`select count(*)::int as n from ${table} where ${where} = $1`, [value])).rows[0]!.n;

describe.each(Object.entries(kinds))('enqueue in %s', (kind, transaction) => {
  const slug = kind.replace(/[^a-z]+/gi, '-').toLowerCase();

  it('commits the email with the app row, readable through the same executor', async () => {
    const to = `commit-${slug}@example.test`;
    const id = await transaction(async (executor, insertOrder) => {
      await insertOrder(`order-${slug}`);
      const id = await enqueueEmail(executor, { template: 'account-confirm', to, props, idempotencyKey: `exec:${slug}` });
      // Inside the transaction the test helper sees it through the app's executor.
      expect((await mailbox.expectEnqueued(executor, { template: 'account-confirm', to })).id).toBe(id);
      return id;
    });
    expect(await count('app_order', 'ref', `order-${slug}`)).toBe(1);
    expect(await count('mailroom.outbox', 'id', id)).toBe(1);
    // The same key again returns the first id and writes nothing.
    const again = await transaction((executor) => enqueueEmail(executor, { template: 'account-confirm', to, props, idempotencyKey: `exec:${slug}` }));
    expect(again).toBe(id);
    expect(await count('mailroom.outbox', 'recipient', to)).toBe(1);
  });

  it('rolls the email back with the app row', async () => {
    const to = `rollback-${slug}@example.test`;
    await expect(
      transaction(async (executor, insertOrder) => {
        await insertOrder(`rolled-${slug}`);
        await enqueueEmail(executor, { template: 'account-confirm', to, props });
        throw new Error('the request failed after the enqueue');
      }),
    ).rejects.toThrow('the request failed after the enqueue');
    expect(await count('app_order', 'ref', `rolled-${slug}`)).toBe(0);
    await mailbox.expectNoneEnqueued(s.pool, { to });
  });
});

describe('other executors', () => {
  it('a pool: the statement commits on its own', async () => {
    const id = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'pool@example.test', props });
    expect(await count('mailroom.outbox', 'id', id)).toBe(1);
  });

  it('any object with query(text, values)', async () => {
    const seen: string[] = [];
    const executor: Queryable = {
      query: async (text, values) => {
        seen.push(text);
        return s.pool.query(text, values);
      },
    };
    const id = await enqueueEmail(executor, { template: 'account-confirm', to: 'queryable@example.test', props });
    expect(seen).toHaveLength(1);
    expect(await count('mailroom.outbox', 'id', id)).toBe(1);
  });

  it('a node-postgres client runs the INSERT as a prepared statement, planned once per connection; preparedStatements: false does not', async () => {
    const prepared = async (client: pg.Client) =>
      (await client.query(`select name from pg_prepared_statements where name like 'mailroom_enqueue_%'`)).rows.map((r) => r.name as string);
    // Fresh connections: the pool's may have prepared it already.
    const client = new pg.Client({ connectionString: s.database.url });
    await client.connect();
    try {
      expect(await prepared(client)).toEqual([]);
      await createMailroom(config).enqueue(client, { template: 'account-confirm', to: 'prepared1@example.test', props });
      await createMailroom(config).enqueue(client, { template: 'account-confirm', to: 'prepared2@example.test', props });
      const names = await prepared(client);
      expect(names).toHaveLength(1);
      expect(names[0]).toMatch(/^mailroom_enqueue_[0-9a-f]{16}$/);
    } finally {
      await client.end();
    }
    const plain = new pg.Client({ connectionString: s.database.url });
    await plain.connect();
    try {
      await createMailroom(config, { preparedStatements: false }).enqueue(plain, { template: 'account-confirm', to: 'unprepared@example.test', props });
      expect(await prepared(plain)).toEqual([]);
    } finally {
      await plain.end();
    }
    expect(await count('mailroom.outbox', 'recipient', 'prepared2@example.test')).toBe(1);
    expect(await count('mailroom.outbox', 'recipient', 'unprepared@example.test')).toBe(1);
  });

  it('an unknown template inserts nothing, with or without the foreign key (migration 0023)', async () => {
    const before = await count('mailroom.outbox', 'recipient', 'unknown@example.test');
    await expect(
      createMailroom({ ...config, templates: { ...config.templates, 'not-migrated': config.templates['account-confirm'] } } as typeof config).enqueue(s.pool, {
        template: 'not-migrated' as 'account-confirm',
        to: 'unknown@example.test',
        props,
      }),
    ).rejects.toThrow(/not-migrated/);
    expect(await count('mailroom.outbox', 'recipient', 'unknown@example.test')).toBe(before);
    await expect(s.pool.query(`select mailroom.enqueue('not-migrated', 'unknown@example.test', '{}')`)).rejects.toMatchObject({ detail: 'field=template' });
  });

  it('refuses something that is none of these, naming what it takes', async () => {
    await expect(enqueueEmail({} as Executor, { template: 'account-confirm', to: 'nobody@example.test', props })).rejects.toThrow(
      /executor must be a Kysely instance or transaction, a node-postgres client or pool, or have query\(text, values\)/,
    );
  });
});
