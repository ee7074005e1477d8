// What enqueue runs its statement on: whatever the app's transaction is. A Kysely
// instance or transaction, a node-postgres client or pool, or anything with
// `query(text, values)` that returns `{ rows }` (a small adapter covers Knex and
// Drizzle: docs/executors.md). mailroom imports none of them.
import type { Kysely } from 'kysely';

/** Anything that runs `text` with `$1, $2, ...` parameters and returns its rows. */
export interface Queryable {
  query(text: string, values: unknown[]): Promise<{ rows: any[] }>;
}

/** A Kysely instance or transaction (any schema), a node-postgres client or pool, or any Queryable. */
export type Executor = Kysely<any> | Queryable;

let compiledQuery: typeof import('kysely').CompiledQuery | undefined;

/**
 * Run one statement on any kind of executor. With `name`, a node-postgres client or
 * pool runs it as a named prepared statement: PostgreSQL plans it once per
 * connection instead of on every call (unnamed, node-postgres's default, it is
 * parsed and planned each time). Other executors run it unnamed: Kysely and the
 * Knex/Drizzle adapters have no way to pass a name.
 */
export async function run<R = { id: string }>(executor: Executor, text: string, params: unknown[], name?: string): Promise<R[]> {
  if (isKysely(executor)) {
    // Imported on the first Kysely executor only: an app on Kysely has loaded it already,
    // and an app on node-postgres never pays for it (about 120 ms of import, measured).
    compiledQuery ??= (await import('kysely')).CompiledQuery;
    return (await executor.executeQuery<R>(compiledQuery.raw(text, params))).rows;
  }
  if (name && isNodePostgres(executor)) return (await executor.query({ name, text, values: params })).rows as R[];
  if (executor && typeof (executor as Queryable).query === 'function') return (await (executor as Queryable).query(text, params)).rows as R[];
  throw new TypeError('executor must be a Kysely instance or transaction, a node-postgres client or pool, or have query(text, values)');
}

/**
 * A node-postgres Pool, Client or PoolClient, told by its own fields (the app may
 * load another copy of pg than mailroom's, so instanceof would not do).
 */
function isNodePostgres(executor: Executor): executor is Queryable & { query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: any[] }> } {
  const e = executor as unknown as Record<string, unknown>;
  return typeof e.query === 'function' && (('totalCount' in e && 'idleCount' in e) || 'connectionParameters' in e);
}

function isKysely(executor: Executor): executor is Kysely<any> {
  return typeof (executor as Kysely<any>).executeQuery === 'function' && typeof (executor as Kysely<any>).selectFrom === 'function';
}
