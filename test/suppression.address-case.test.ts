// An address suppressed in one case is not sent to in another, whatever the case
// or the script, and whatever the database's locale: the suppression list and the
// send check compare addresses by one rule, mailroom.normalize_address (see
// migrations/0008_normalized_addresses_and_event_keys.sql). Run on the usual test
// database (LC_CTYPE C.UTF-8) and on one whose LC_CTYPE is C, where PostgreSQL's
// lower() leaves every non-ASCII capital as it is.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrate } from '../src/migrate.ts';
import { addSuppression, listSuppressions, removeSuppression, suppressionPage } from '../src/suppression/provider-events.ts';
import { connect, type Db } from '../src/db/connect.ts';
import type { RunningWorker } from '../src/cli/commands/worker.ts';
import { createTestDatabase, dropDatabase, withPg } from './support/database.ts';
import { config, enqueueEmail } from './support/mailroom.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';
import { startInProcessWorker, testEnv, waitUntil } from './support/worker.ts';

/** [as suppressed, as later enqueued]: the same mailbox written two ways. */
const PAIRS: [string, string][] = [
  ['ÉLODIE@EXAMPLE.TEST', 'élodie@example.test'],
  ['élodie.b@example.test', 'Élodie.B@Example.TEST'],
  // JavaScript lower-cases İ to i + U+0307; PostgreSQL (glibc) to i: even the same spelling used to miss.
  ['İPEK@example.test', 'İPEK@example.test'],
  ['ipek.t@example.test', 'İPEK.T@example.test'],
  // The dotless ı upper-cases to I, which lower-cases to i: all four Turkic i's are one letter here.
  ['ılık@example.test', 'ILIK@example.test'],
  // Greek: a final ς and its capital Σ (which PostgreSQL lower-cases to σ).
  ['οδυσσεας@example.test', 'ΟΔΥΣΣΕΑΣ@example.test'],
  // Titlecase digraph ǅ, its capital Ǆ and its small ǆ.
  ['ǅemal@example.test', 'ǄEMAL@example.test'],
  ['ǆenan@example.test', 'ǅenan@example.test'],
  // Capital sharp s ẞ is ß (but ß is not ss: those are different addresses).
  ['STRAẞE@example.test', 'straße@example.test'],
  // Full-width letters fold to full-width small letters.
  ['ＦＵＬＬ@example.test', 'ｆｕｌｌ@example.test'],
  // The Kelvin sign is a capital K.
  ['\u212Aate@example.test', 'kate@example.test'],
];

const SETTLED = ['sent', 'failed', 'cancelled', 'suppressed', 'expired'];

interface Target {
  url: string;
  pool: pg.Pool;
  db: Db;
  drop(): Promise<void>;
}

/** A migrated database with LC_CTYPE and LC_COLLATE C, next to the run's template. */
async function createCLocaleDatabase(): Promise<Target> {
  const adminUrl = inject('adminDatabaseUrl');
  const name = `${inject('templateDatabase')}_clocale_${process.pid}`;
  await withPg(adminUrl, (admin) =>
    admin.query(`create database "${name}" template template0 encoding 'UTF8' lc_collate 'C' lc_ctype 'C'`),
  );
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await migrate({ databaseUrl: url.toString(), config, appMigrations: false });
  return open(url.toString(), () => withPg(adminUrl, (admin) => dropDatabase(admin, name)));
}

function open(url: string, drop: () => Promise<void>): Target {
  return { url, pool: new pg.Pool({ connectionString: url }), db: connect(url, { max: 2 }), drop };
}

describe.each([
  ['the test database (LC_CTYPE C.UTF-8)', async () => {
    const database = await createTestDatabase();
    return open(database.url, database.drop);
  }],
  ['a database whose LC_CTYPE is C', createCLocaleDatabase],
])('on %s', (_name, create) => {
  let target: Target;
  let sink: SmtpSink;
  let worker: RunningWorker | undefined;
  beforeAll(async () => {
    target = await create();
    sink = await startSmtpSink();
  });
  afterAll(async () => {
    await worker?.stop();
    await target?.pool.end();
    await target?.db.close();
    await sink?.close();
    await target?.drop();
  });

  it('reports its LC_CTYPE', async () => {
    const { rows } = await target.pool.query(`select datctype from pg_database where datname = current_database()`);
    expect(['C', 'C.UTF-8', 'C.utf8']).toContain(rows[0].datctype);
  });

  it('does not send to an address suppressed in another case: non-ASCII capitals, ǅ, Turkic i, ẞ, full-width letters', async () => {
    for (const [suppressed] of PAIRS) await addSuppression(target.db.kysely, suppressed, 'test');
    worker = await startInProcessWorker(testEnv(target.url, sink.url));
    const ids: string[] = [];
    for (const [, to] of PAIRS) ids.push(await enqueueEmail(target.pool, { template: 'account-confirm', to, props: { token: 'token-0123456789abcdef' } }));
    const rows = await waitUntil(
      async () => (await target.pool.query('select id, recipient, status, attempts from mailroom.outbox where id = any($1) order by recipient', [ids])).rows,
      (rows) => rows.every((r) => SETTLED.includes(r.status)),
      20_000,
      'every row settled',
    );
    expect(rows.filter((r) => r.status !== 'suppressed').map((r) => `${r.recipient}: ${r.status}`)).toEqual([]);
    expect(rows.every((r) => r.attempts === 0)).toBe(true);
    expect(sink.messages).toHaveLength(0);
  });

  it('keeps one entry per mailbox, lists it in its normalised form, finds it by prefix and removes it in any case', async () => {
    // The list holds each pair's address once, however it was written when added.
    expect(await addSuppression(target.db.kysely, 'élodie@EXAMPLE.test', 'again')).toBe(false);
    const addresses = (await listSuppressions(target.db.kysely)).map((r) => r.address);
    expect(addresses).toContain('élodie@example.test');
    expect(addresses).toContain('ipek@example.test');
    expect(addresses).toContain('οδυσσεασ@example.test');
    expect(addresses).toHaveLength(PAIRS.length);
    expect((await suppressionPage(target.db.kysely, { prefix: 'ÉLO' })).rows.map((r) => r.address)).toEqual(['élodie.b@example.test', 'élodie@example.test']);
    expect(await removeSuppression(target.db.kysely, 'ΟΔΥΣΣΕΑΣ@EXAMPLE.TEST')).toBe(true);
    expect(await removeSuppression(target.db.kysely, 'οδυσσεας@example.test')).toBe(false);
  });
});
