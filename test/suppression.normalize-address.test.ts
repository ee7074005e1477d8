// One rule for comparing addresses, in PostgreSQL (mailroom.normalize_address) and
// in TypeScript (normalizeAddress): they agree on every code point that has a case
// and on the tricky inputs, neither depends on the database's locale, and
// migration 0008 brings existing suppression rows to the normalised form.
import { sql } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connect } from '../src/db/connect.ts';
import { migrateSchema } from '../src/db/migrate.ts';
import { addressDomain, normalizeAddress } from '../src/suppression/address.ts';
import { migrate } from '../src/migrate.ts';
import { createTestDatabase, dropDatabase, withPg } from './support/database.ts';
import { config } from './support/mailroom.ts';

const TRICKY: [string, string][] = [
  ['ÉLODIE@EXAMPLE.TEST', 'élodie@example.test'],
  ['Élodie@Example.Test', 'élodie@example.test'],
  ['ǅ@example.test', 'ǆ@example.test'],
  ['Ǆ@example.test', 'ǆ@example.test'],
  ['ǆ@example.test', 'ǆ@example.test'],
  // The four Turkic i's are one letter, and so is i + combining dot above (JavaScript's lower case of İ).
  ['İ@example.test', 'i@example.test'],
  ['I@example.test', 'i@example.test'],
  ['ı@example.test', 'i@example.test'],
  ['i\u0307@example.test', 'i@example.test'],
  ['İSTANBUL@example.test', 'istanbul@example.test'],
  // ẞ is ß; ß stays ß (not ss).
  ['STRAẞE@example.test', 'straße@example.test'],
  ['straße@example.test', 'straße@example.test'],
  ['STRASSE@example.test', 'strasse@example.test'],
  // Full-width letters fold among themselves (no compatibility mapping to ASCII).
  ['ＦＵＬＬ@example.test', 'ｆｕｌｌ@example.test'],
  // Greek: Σ, σ and a final ς are one letter; ΐ keeps its accents.
  ['ΟΔΥΣΣΕΑΣ@example.test', 'οδυσσεασ@example.test'],
  ['οδυσσεας@example.test', 'οδυσσεασ@example.test'],
  // The Kelvin and ohm signs, the long s, the micro sign, Cherokee (which folds to capitals).
  ['\u212A\u2126@example.test', 'kω@example.test'],
  ['ſ@example.test', 's@example.test'],
  ['µ@example.test', 'μ@example.test'],
  ['\uAB70@example.test', '\u13A0@example.test'],
  // Beyond the BMP: Deseret and Adlam capitals.
  ['\u{10400}\u{1E900}@example.test', '\u{10428}\u{1E922}@example.test'],
  // Nothing else changes: digits, punctuation, combining marks, CJK, emoji.
  ['o\u0301+tag.2026_日本@example.test', 'o\u0301+tag.2026_日本@example.test'],
  ['😀@example.test', '😀@example.test'],
];

/** An empty database with LC_CTYPE and LC_COLLATE C, beside the run's template. */
async function cLocaleDatabase(suffix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminUrl = inject('adminDatabaseUrl');
  const name = `${inject('templateDatabase')}_${suffix}_${process.pid}`;
  await withPg(adminUrl, (admin) => admin.query(`create database "${name}" template template0 encoding 'UTF8' lc_collate 'C' lc_ctype 'C'`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => withPg(adminUrl, (admin) => dropDatabase(admin, name)) };
}

describe.each([
  ['the test database (LC_CTYPE C.UTF-8)', async () => createTestDatabase()],
  ['a database whose LC_CTYPE is C', async () => {
    const database = await cLocaleDatabase('norm');
    await migrate({ databaseUrl: database.url, config, appMigrations: false });
    return database;
  }],
])('normalizeAddress and mailroom.normalize_address, on %s,', (_name, create) => {
  let database: { url: string; drop: () => Promise<void> };
  let pool: pg.Pool;
  beforeAll(async () => {
    database = await create();
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  const inSql = async (addresses: string[]) =>
    (await pool.query<{ n: string }>('select mailroom.normalize_address(a) as n from unnest($1::text[]) with ordinality as t(a, i) order by i', [addresses])).rows.map((r) => r.n);

  it('fold the tricky inputs the same way, as documented', async () => {
    const inputs = TRICKY.map(([input]) => input);
    const expected = TRICKY.map(([, normal]) => normal);
    expect(inputs.map(normalizeAddress)).toEqual(expected);
    expect(await inSql(inputs)).toEqual(expected);
    // Normalising twice changes nothing, and neither does JavaScript's lower case first.
    expect(expected.map(normalizeAddress)).toEqual(expected);
    expect(inputs.map((a) => normalizeAddress(a.toLowerCase()))).toEqual(expected);
    expect(await inSql(expected)).toEqual(expected);
  });

  it('agree on every code point up to U+1FFFF (every character with a case) and on a sample of the rest', async () => {
    const codePoints: number[] = [];
    for (let cp = 1; cp <= 0x1ffff; cp++) if (cp < 0xd800 || cp > 0xdfff) codePoints.push(cp);
    for (let cp = 0x20000; cp <= 0x10ffff; cp += 251) codePoints.push(cp);
    // SQL: the code points it changes, and into what (one statement, nothing else comes back).
    const { rows } = await pool.query<{ cp: number; folded: string }>(
      `select cp, f as folded from unnest($1::int[]) as cp, mailroom.normalize_address(chr(cp)) as f where f <> chr(cp)`,
      [codePoints],
    );
    const fromSql = new Map(rows.map((r) => [r.cp, r.folded]));
    const fromJs = new Map<number, string>();
    for (const cp of codePoints) {
      const folded = normalizeAddress(String.fromCodePoint(cp));
      if (folded !== String.fromCodePoint(cp)) fromJs.set(cp, folded);
    }
    expect(fromJs.size).toBeGreaterThan(1400);
    expect([...fromSql].sort((a, b) => a[0] - b[0])).toEqual([...fromJs].sort((a, b) => a[0] - b[0]));
  });

  it('agree on addresses mixing scripts, capitals and the dotted i, in every position', async () => {
    const pieces = ['A', 'é', 'É', 'İ', 'ı', 'i\u0307', 'i\u0307\u0307', 'Σ', 'ς', 'ẞ', 'Ｆ', '\u212A', 'Ꭰ', '\u{10400}', '日', '.', '+'];
    const addresses: string[] = [];
    for (const a of pieces) for (const b of pieces) for (const c of pieces) addresses.push(`${a}${b}x${c}@Example.TEST`);
    expect(await inSql(addresses)).toEqual(addresses.map(normalizeAddress));
  });

  it('is immutable, inlined into the send check (which looks the suppression list up by its key), and the list holds only normal forms', async () => {
    const { rows } = await pool.query(
      `select provolatile, proparallel from pg_proc where oid = 'mailroom.normalize_address(text)'::regprocedure`,
    );
    expect(rows[0]).toEqual({ provolatile: 'i', proparallel: 's' });
    // Inlined: an ASCII address costs what lower() does, no SQL function call per row.
    const { rows: plan } = await pool.query(
      `explain (verbose, costs off) select exists (select 1 from mailroom.suppression s where s.address = mailroom.normalize_address(r)) from unnest($1::text[]) r`,
      [['Élodie@example.test']],
    );
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toContain('suppression_pkey');
    expect(text).not.toContain('normalize_address');
    await expect(pool.query(`insert into mailroom.suppression (address, reason) values ('Élodie@example.test', 'x')`)).rejects.toThrow(/check constraint/);
  });
});

describe('addressDomain', () => {
  it('gives the rate limit its domain: lower-cased, as in the normalised address', () => {
    expect(addressDomain('Élodie@Mail.EXAMPLE.test')).toBe('mail.example.test');
    expect(addressDomain('a@b@C.test')).toBe('c.test');
  });
});

// Kysely's Migrator over migrations/*.sql, as src/db/migrate.ts builds it, to stop before 0008.
const MIGRATIONS = fileURLToPath(new URL('../migrations/', import.meta.url));
const provider: MigrationProvider = {
  async getMigrations() {
    const migrations: Record<string, Migration> = {};
    for (const file of (await readdir(MIGRATIONS)).filter((f) => f.endsWith('.sql')).sort()) {
      const text = await readFile(MIGRATIONS + file, 'utf8');
      migrations[file.replace(/\.sql$/, '')] = { up: (db) => sql.raw(text).execute(db).then(() => {}) };
    }
    return migrations;
  },
};

describe('migration 0008 on a database with suppressions and events from before', () => {
  it('rewrites every row to its normalised form, merging rows that name one mailbox (the oldest stays)', async () => {
    // LC_CTYPE C, where 0001's check (address = lower(address)) let non-ASCII capitals in.
    const database = await cLocaleDatabase('m0008');
    const db = connect(database.url, { max: 2 });
    try {
      await sql`create schema if not exists mailroom`.execute(db.kysely);
      const migrator = new Migrator({
        db: db.kysely,
        provider,
        migrationTableSchema: 'mailroom',
        migrationTableName: 'kysely_migration',
        migrationLockTableName: 'kysely_migration_lock',
      });
      const before = (await migrator.getMigrations()).map((m) => m.name).filter((m) => m < '0008');
      expect((await migrator.migrateTo(before.at(-1)!)).error).toBeUndefined();
      await sql`insert into mailroom.suppression (address, reason, source, created_at) values
        ('Élodie@example.test', 'complaint', 'mailjet', '2026-01-01'),
        ('élodie@example.test', 'manual', 'manual', '2026-02-01'),
        ('i̇pek@example.test', 'hard_bounce', 'mailjet', '2026-01-01'),
        ('οδυσσεας@example.test', 'manual', 'manual', '2026-01-01'),
        ('plain@example.test', 'manual', 'manual', '2026-01-01')`.execute(db.kysely);
      // The same complaint received twice (a replay), and another event.
      const complaint = { event: 'spam', time: 1795858000, MessageID: '7', email: 'plain@example.test' };
      await sql`insert into mailroom.delivery_event (provider, event, address, payload) values
        ('mailjet', 'spam', 'plain@example.test', ${JSON.stringify(complaint)}),
        ('mailjet', 'spam', 'plain@example.test', ${JSON.stringify({ ...complaint, email: 'Plain@Example.test' })}),
        ('mailjet', 'open', 'plain@example.test', ${JSON.stringify({ ...complaint, event: 'open' })})`.execute(db.kysely);
      await migrateSchema(db.kysely);
      const { rows } = await sql<{ address: string; reason: string }>`select address, reason from mailroom.suppression order by address`.execute(db.kysely);
      expect(rows).toEqual([
        { address: 'ipek@example.test', reason: 'hard_bounce' },
        { address: 'plain@example.test', reason: 'manual' },
        { address: 'élodie@example.test', reason: 'complaint' },
        { address: 'οδυσσεασ@example.test', reason: 'manual' },
      ]);
      // Every event stays; the first of the replayed pair gets the key, so a third copy is refused.
      const { rows: keyed } = await sql<{ event: string; keyed: boolean }>`
        select event, event_key is not null as keyed from mailroom.delivery_event order by id`.execute(db.kysely);
      expect(keyed).toEqual([{ event: 'spam', keyed: true }, { event: 'spam', keyed: false }, { event: 'open', keyed: true }]);
      const { rows: again } = await sql`
        insert into mailroom.delivery_event (provider, event, address, payload, event_key)
        select 'mailjet', 'spam', 'plain@example.test', p, mailroom.delivery_event_key('mailjet', p) from (select ${JSON.stringify(complaint)}::jsonb as p) x
        on conflict (provider, event_key) do nothing returning id`.execute(db.kysely);
      expect(again).toEqual([]);
    } finally {
      await db.close();
      await database.drop();
    }
  });
});
