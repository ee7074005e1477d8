// One pg pool and one Kysely instance per process; everything else borrows them.
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './types.ts';

// timestamptz as Date, bigint (count(*)) as string: pg's defaults, stated here so
// nobody has to wonder.
export interface Db {
  pool: pg.Pool;
  kysely: Kysely<Database>;
  close(): Promise<void>;
}

export function connect(databaseUrl: string, options: { max?: number; applicationName?: string } = {}): Db {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'mailroom',
  });
  // An idle client that loses its connection emits here; without a listener the process dies.
  pool.on('error', () => {});
  // A checked-out client has no pool listener: a connection the server ends while Kysely
  // (or anyone) holds it (a restart) would emit an unheard 'error' and kill the process.
  // The query in flight fails on its own, and pg-pool drops the broken client on release.
  pool.on('connect', (client) => client.on('error', () => {}));
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let closed = false;
  return {
    pool,
    kysely,
    async close() {
      if (closed) return;
      closed = true;
      await kysely.destroy();
      // Kysely ends the pool only if it ever ran a query itself; code that used only
      // the pool would otherwise keep the process alive until pg's idle timeout.
      if (!pool.ended) await pool.end();
    },
  };
}
