// `mailroom migrate`: one call prepares a database. mailroom's schema, the app's
// template catalogue, pg-boss's own schema with the send queue, then the app's own
// migrations if its config has them.
import type { MailroomConfig } from './define-config.ts';
import { connect } from './db/connect.ts';
import { migrateSchema } from './db/migrate.ts';
import { createBoss, ensureSendQueue } from './queue/boss.ts';
import { catalogueOf } from './templates/catalogue.ts';
import { syncTemplateCatalogue } from './templates/sync.ts';

export interface MigrateOptions {
  /** The database to prepare (a role that may create schemas). */
  databaseUrl: string;
  /** The app's config: its templates are synced into mailroom.template; its `migrate` hook runs last. */
  config: MailroomConfig<any>;
  /** Also run the config's `migrate` hook (default true). */
  appMigrations?: boolean;
}

export interface MigrateResult {
  /** mailroom's migrations applied by this call, then the app's. */
  applied: string[];
}

export async function migrate({ databaseUrl, config, appMigrations = true }: MigrateOptions): Promise<MigrateResult> {
  const db = connect(databaseUrl, { max: 2, applicationName: 'mailroom-migrate' });
  let applied: string[];
  try {
    applied = await migrateSchema(db.kysely);
    await syncTemplateCatalogue(db.kysely, catalogueOf(config));
    const boss = createBoss(databaseUrl);
    boss.on('error', () => {}); // start() rejects on the errors that matter here
    await boss.start();
    try {
      await ensureSendQueue(boss);
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
  } finally {
    await db.close();
  }
  if (appMigrations && config.migrate) applied.push(...((await config.migrate({ databaseUrl })) ?? []));
  return { applied };
}
