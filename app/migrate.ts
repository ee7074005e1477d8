// The app's own schema (`app`), applied from app/migrations/*.sql and recorded
// in its own table, app.kysely_migration: mailroom's migrations and the app's
// never share a history. `mailroom migrate` and `mailroom dev` run both.
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Migrator, type Migration } from 'kysely/migration';
import pg from 'pg';

const DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

async function sqlMigrations(): Promise<Record<string, Migration>> {
  const entries = (await readdir(DIR)).filter((name) => name.endsWith('.sql')).sort();
  const texts = await Promise.all(entries.map((name) => readFile(DIR + name, 'utf8')));
  // Unparameterised, so pg sends each file as one simple query of many statements.
  return Object.fromEntries(
    entries.map((name, i) => [name.slice(0, -'.sql'.length), { up: async (db: Kysely<any>) => void (await sql.raw(texts[i]!).execute(db)) }]),
  );
}

/** Apply the app's pending migrations; returns their names. */
export async function migrateApp(databaseUrl: string): Promise<string[]> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1, application_name: 'mailroom-app-migrate' });
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`create schema if not exists app`.execute(db);
    const migrator = new Migrator({
      db,
      provider: { getMigrations: sqlMigrations },
      migrationTableSchema: 'app',
      migrationTableName: 'kysely_migration',
      migrationLockTableName: 'kysely_migration_lock',
    });
    const { error, results = [] } = await migrator.migrateToLatest();
    if (error) {
      const failed = results.find((r) => r.status === 'Error')?.migrationName ?? '(unknown)';
      throw new Error(`app migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
  } finally {
    await db.destroy();
  }
}
