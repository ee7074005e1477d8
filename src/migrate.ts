// `mailroom migrate`: one call prepares a database. mailroom's schema, the app's
// template catalogue, pg-boss's own schema with the send queue, then the app's own
// migrations if its config has them.
import type { MailroomConfig } from './define-config.ts';
import { connect, resolveDatabaseOptions, type DatabaseOptions } from './db/connect.ts';
import { migrateSchema, withMigrationLock } from './db/migrate.ts';
import { SendQueue } from './queue/send-queue.ts';
import { catalogueOf } from './templates/catalogue.ts';
import { syncTemplateCatalogue } from './templates/sync.ts';

export interface MigrateOptions {
  /** The database to prepare (a role that may create schemas). */
  databaseUrl: string;
  /** The app's config: its templates are synced into mailroom.template; its `migrate` hook runs last. */
  config: MailroomConfig<any>;
  /** Also run the config's `migrate` hook (default true). */
  appMigrations?: boolean;
  /**
   * Timeouts and TCP keepalive of its connections (its pool and pg-boss's), as for
   * startWorker(): DEFAULT_DATABASE_OPTIONS by default, so one statement may run 60 s.
   * A migration that needs longer (an index on a big table) wants `statementTimeoutMs: 0`.
   */
  database?: DatabaseOptions;
}

export { DEFAULT_DATABASE_OPTIONS, type DatabaseOptions } from './db/connect.ts';

export interface MigrateResult {
  /** mailroom's migrations applied by this call, then the app's. */
  applied: string[];
}

export async function migrate({ databaseUrl, config, appMigrations = true, database: databaseOptions }: MigrateOptions): Promise<MigrateResult> {
  const database = resolveDatabaseOptions(databaseOptions, 'migrate: database');
  const db = connect(databaseUrl, { max: 2, applicationName: 'mailroom-migrate', ...database });
  try {
    // One run at a time per database, from mailroom's first statement to the app's last
    // migration: a second `mailroom migrate` (another deploy, another replica) waits
    // here, then finds nothing to do. `locked` is the connection holding the lock.
    return await withMigrationLock(db.kysely, async (locked) => {
      const applied = await migrateSchema(locked);
      await syncTemplateCatalogue(locked, catalogueOf(config));
      // start() rejects on the errors that matter here; pg-boss's others are ignored.
      const queue = SendQueue.create(databaseUrl, { database });
      try {
        await queue.start();
        await queue.ensure();
      } finally {
        await queue.stop({ graceful: false });
      }
      if (appMigrations && config.migrate) applied.push(...((await config.migrate({ databaseUrl })) ?? []));
      return { applied };
    });
  } finally {
    await db.close();
  }
}
