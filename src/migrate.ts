// `mailroom migrate`: one command prepares a database. Our schema, the template
// catalogue, and pg-boss's own schema with the send queue.
import { connect } from './db/connect.ts';
import { migrateSchema } from './db/migrate.ts';
import { createBoss, ensureSendQueue } from './queue/boss.ts';
import { syncTemplateCatalogue } from './templates/sync.ts';

export interface MigrateResult {
  applied: string[];
}

export async function migrate(databaseUrl: string): Promise<MigrateResult> {
  const db = connect(databaseUrl, { max: 2, applicationName: 'mailroom-migrate' });
  try {
    const applied = await migrateSchema(db.kysely);
    await syncTemplateCatalogue(db.kysely);
    const boss = createBoss(databaseUrl);
    boss.on('error', () => {}); // start() rejects on the errors that matter here
    await boss.start();
    try {
      await ensureSendQueue(boss);
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
    return { applied };
  } finally {
    await db.close();
  }
}
