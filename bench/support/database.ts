// A fresh, migrated database for one bench run: BENCH_DATABASE_URL's server if set
// (the database in the URL is only used to connect), else an embedded PostgreSQL.
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.ts';
import { migrate } from '../../src/migrate.ts';
import { config } from '../../test/support/product.ts';
import { dropDatabase } from '../../test/support/database.ts';

export interface BenchDatabase {
  url: string;
  server: string;
  close(): Promise<void>;
}

export async function benchDatabase(): Promise<BenchDatabase> {
  let adminUrl = process.env.BENCH_DATABASE_URL;
  let stop = async () => {};
  let server = adminUrl ? `PostgreSQL at ${new URL(adminUrl).host}` : '';
  if (!adminUrl) {
    const dir = await mkdtemp(join(tmpdir(), 'mailroom-bench-'));
    await chmod(dir, 0o755); // mkdtemp makes it 0700; the server runs as the postgres user
    const embedded = await startEmbeddedPostgres({ dataDir: join(dir, 'pg') });
    adminUrl = embedded.adminUrl;
    stop = () => embedded.stop();
    server = 'embedded PostgreSQL';
  }
  const name = `mailroom_bench_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const version = (await admin.query('show server_version')).rows[0].server_version as string;
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await migrate({ databaseUrl: url.toString(), config });
  await dropIndexesForExperiment(url.toString());
  return {
    url: url.toString(),
    server: `${server} ${version}`,
    async close() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await dropDatabase(client, name);
      await client.end();
      await stop();
    },
  };
}

/**
 * BENCH_DROP_OUTBOX_INDEXES=outbox_created_idx,outbox_template_created_idx: an
 * experiment's knob, to measure what an index of the outbox costs each enqueue.
 * Only the admin list's and erasure's indexes may go (the relay, the sweeper and
 * the idempotency key need theirs); a name outside that list is an error.
 */
const DROPPABLE = ['outbox_created_idx', 'outbox_template_created_idx', 'outbox_recipient_list_idx', 'outbox_recipient_folded_idx'];

async function dropIndexesForExperiment(url: string): Promise<void> {
  const names = (process.env.BENCH_DROP_OUTBOX_INDEXES ?? '').split(',').map((n) => n.trim()).filter(Boolean);
  if (names.length === 0) return;
  const unknown = names.filter((n) => !DROPPABLE.includes(n));
  if (unknown.length > 0) throw new RangeError(`BENCH_DROP_OUTBOX_INDEXES: ${unknown.join(', ')} is not one of ${DROPPABLE.join(', ')}`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const name of names) await client.query(`drop index mailroom.${name}`);
  } finally {
    await client.end();
  }
  console.log(`experiment: dropped ${names.join(', ')} (BENCH_DROP_OUTBOX_INDEXES)`);
}
