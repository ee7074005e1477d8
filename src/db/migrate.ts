// Applies migrations/*.sql with Kysely's Migrator: each file once, in name order,
// each in its own transaction, recorded in mailroom.kysely_migration. Concurrent
// runs (two deploys, two replicas) take turns on one advisory lock.
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { sql, type Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

/** SQL files as Kysely migrations, so the schema is read and reviewed as SQL. */
class SqlFileMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      const text = await readFile(MIGRATIONS_DIR + file, 'utf8');
      // No parameters: pg sends it as a simple query, so a file may hold many statements.
      migrations[file.replace(/\.sql$/, '')] = { up: (db) => sql.raw(text).execute(db).then(() => {}) };
    }
    return migrations;
  }
}

/**
 * The session-level advisory lock that serialises `mailroom migrate` runs on one
 * database: the ASCII bytes of "mailroom" read as a bigint (0x6d61696c726f6f6d).
 * Advisory locks are per database, so runs against different databases never wait
 * for each other. To see who holds it:
 *   select pid, application_name from pg_locks join pg_stat_activity using (pid)
 *    where locktype = 'advisory' and objid = 1919905645 and classid = 1835100524;
 * (a bigint key shows as classid = high 32 bits, objid = low 32 bits).
 * Kysely's Migrator takes a lock of its own (3853314791062309107), but only after
 * it has created its schema and tables, which is where concurrent runs collided.
 */
export const MIGRATION_LOCK_KEY = 7881696737372368749n;

export interface MigrationLockOptions {
  /** Called once when another session holds the lock and this one starts waiting for it. */
  onWait?: () => void;
}

/** How often a waiting run asks for the lock again. */
const LOCK_RETRY_MS = 200;

/**
 * Run `fn` holding the migration lock, on one connection of `db` kept for it: the
 * lock belongs to that session, so it is released when `fn` settles, or by the
 * server when the process dies. A second caller waits here until the first is done.
 * It waits by asking again every 200 ms (pg_try_advisory_lock) rather than in one
 * blocking pg_advisory_lock, so the pool's statement_timeout (60 s by default)
 * limits each statement, not the wait for a long migration elsewhere.
 * Session locks nest: `fn` may call migrateSchema(locked) (it takes the lock again
 * on the same session); it must use `locked`, not `db`, for anything that takes the
 * lock, or it would wait for itself.
 */
export async function withMigrationLock<T>(db: Kysely<any>, fn: (locked: Kysely<any>) => Promise<T>, options: MigrationLockOptions = {}): Promise<T> {
  if (db.isTransaction) throw new Error('withMigrationLock needs a Kysely instance, not a transaction: the lock is held by a session across transactions');
  return db.connection().execute(async (locked) => {
    for (let waited = false; ; ) {
      const { rows } = await sql<{ got: boolean }>`select pg_try_advisory_lock(${sql.lit(MIGRATION_LOCK_KEY)}) as got`.execute(locked);
      if (rows[0]?.got) break;
      if (!waited) options.onWait?.();
      waited = true;
      await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
    }
    try {
      return await fn(locked);
    } finally {
      // A lost connection has already released it; nothing to report then.
      await sql`select pg_advisory_unlock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(locked).catch(() => {});
    }
  });
}

/** Apply mailroom's pending migrations, under the migration lock; returns their names. */
export async function migrateSchema(db: Kysely<any>): Promise<string[]> {
  return withMigrationLock(db, async (locked) => {
    // Under the lock: concurrent `create schema if not exists` can fail on
    // pg_namespace's unique index when both pass the existence check at once.
    await sql`create schema if not exists mailroom`.execute(locked);
    const migrator = new Migrator({
      db: locked,
      provider: new SqlFileMigrationProvider(),
      migrationTableSchema: 'mailroom',
      migrationTableName: 'kysely_migration',
      migrationLockTableName: 'kysely_migration_lock',
    });
    // migrateToLatest() reports failure in its result instead of throwing.
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName;
      throw new Error(`migration ${failed ?? '(unknown)'} failed: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  });
}

/** Names of migrations on disk that the database has not applied yet. */
export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: new SqlFileMigrationProvider(),
    migrationTableSchema: 'mailroom',
    migrationTableName: 'kysely_migration',
    migrationLockTableName: 'kysely_migration_lock',
  });
  const all = await migrator.getMigrations();
  return all.filter((m) => !m.executedAt).map((m) => m.name);
}
