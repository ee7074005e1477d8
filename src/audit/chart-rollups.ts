// The admin charts' rollups (migrations/0020): mailroom.roll_up() adds up the
// attempts that finished since its last run. The worker calls rollUpAll() every
// minute, the overview page rollUp() before it reads, `mailroom purge` before it
// deletes; a second caller while one runs returns at once (an advisory lock).
import { sql, type Kysely } from 'kysely';

/**
 * Roll up at most `maxSpan` of history (a PostgreSQL interval, default 6 hours);
 * true once caught up. Cheap when it is: a minute's attempts by index.
 */
export async function rollUp(db: Kysely<any>, options: { maxSpan?: string } = {}): Promise<boolean> {
  const { rows } = await sql<{ done: boolean }>`select mailroom.roll_up(${options.maxSpan ?? '6 hours'}::interval) as done`.execute(db);
  return rows[0]!.done;
}

/** Roll up until caught up, each span its own short transaction. */
export async function rollUpAll(db: Kysely<any>): Promise<void> {
  while (!(await rollUp(db))) {
    // The next span.
  }
}
