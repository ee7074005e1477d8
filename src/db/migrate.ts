// Applies migrations/*.sql with Kysely's Migrator: each file once, in name order,
// each in its own transaction, recorded in mailroom.kysely_migration.
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

export async function migrateSchema(db: Kysely<any>): Promise<string[]> {
  await sql`create schema if not exists mailroom`.execute(db);
  const migrator = new Migrator({
    db,
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
