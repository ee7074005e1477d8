// Runs once per `vitest run`, in the main process. Picks the PostgreSQL the run uses
// (TEST_DATABASE_URL; else Testcontainers when a container runtime answers; else an
// embedded PostgreSQL: see postgres-server.ts), builds one migrated template
// database on it, and tells the test files where both are. Each file then clones
// the template (test/support/database.ts: CREATE DATABASE ... TEMPLATE, ~0.1 s),
// so no two files share state and none pays for the migration.
//
// Environment:
//   TEST_DATABASE_URL  use this server (a role that may CREATE DATABASE); what the
//                      run creates there is dropped at the end
//   TEST_PG_LOG=1      show the embedded server's output and the setup's timing
//   TEST_PG_NO_CACHE=1 run initdb every time instead of copying a cached cluster
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../src/migrate.ts';
import { config as fixtureConfig } from '../support/mailroom.ts';
import { config as productConfig } from '../support/product.ts';
import { redact, startTestServer, type TestServer } from './postgres-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a database on the test server with the right to CREATE/DROP DATABASE. */
    adminDatabaseUrl: string;
    /** The migrated database every test file clones; nobody may connect to it. */
    templateDatabase: string;
    /** Where the server came from, for messages: 'TEST_DATABASE_URL' | 'testcontainers' | 'embedded'. */
    databaseSource: string;
  }
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function withAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'mailroom-test-setup' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Written on the template, so a later run can tell a live run's databases from an interrupted one's. */
interface RunMark {
  pid: number;
  host: string;
  started: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A run stopped with Ctrl-C exits without its teardown: on a shared server its
 * template and clones stay. Drop those of runs that are gone (same host, dead pid)
 * or older than a day (another host). Live runs, e.g. a nested one, are left alone.
 */
async function dropStaleRuns(adminUrl: string): Promise<void> {
  const { rows } = await withAdmin(adminUrl, (admin) =>
    admin.query<{ datname: string; mark: string | null }>(
      `select d.datname, shobj_description(d.oid, 'pg_database') as mark
         from pg_database d where d.datname like 'mailroom\\_template\\_%' and d.datname !~ '_f[0-9]+_[0-9]+$'`,
    ),
  );
  for (const { datname, mark } of rows) {
    let run: RunMark | undefined;
    try {
      run = mark ? (JSON.parse(mark) as RunMark) : undefined;
    } catch {
      run = undefined;
    }
    if (!run) continue; // not ours to judge
    const gone = run.host === hostname() ? !isAlive(run.pid) : Date.now() - Date.parse(run.started) > 86_400_000;
    if (gone) await dropDatabases(adminUrl, datname).catch(() => {});
  }
}

async function createTemplate(server: TestServer, template: string): Promise<void> {
  await withAdmin(server.adminUrl, async (admin) => {
    await admin.query(`create database ${quote(template)}`);
    const mark: RunMark = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
    await admin.query(`comment on database ${quote(template)} is ${admin.escapeLiteral(JSON.stringify(mark))}`);
  });
  try {
    // mailroom's schema with both catalogues: the library's fixture (its tests) and the
    // product's (test/product/). The app's own schema is its tests' business.
    for (const config of [fixtureConfig, productConfig]) {
      await migrate({ databaseUrl: databaseUrl(server.adminUrl, template), config, appMigrations: false });
    }
  } catch (error) {
    throw new Error(`migrate() failed on the template database ${template}: ${(error as Error).message}`, { cause: error });
  }
  await withAdmin(server.adminUrl, async (admin) => {
    // Cloning fails while anyone is connected to the template. migrate() has closed
    // its pools, but a backend can take a moment to go; wait for it, then forbid new
    // connections so no test can hold the template open by mistake.
    await admin.query(`alter database ${quote(template)} with allow_connections false`);
    for (let waited = 0; ; waited += 50) {
      const { rows } = await admin.query<{ n: number }>(
        'select count(*)::int as n from pg_stat_activity where datname = $1',
        [template],
      );
      if (rows[0]!.n === 0) break;
      if (waited >= 10_000) {
        await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [template]);
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  });
}

/** Drop the template and every per-file clone of it (named `<template>_…`). */
async function dropDatabases(adminUrl: string, template: string): Promise<void> {
  await withAdmin(adminUrl, async (admin) => {
    const prefix = `${template}_`.replace(/[\\%_]/g, (c) => `\\${c}`);
    const { rows } = await admin.query<{ datname: string }>(
      `select datname from pg_database where datname = $1 or datname like $2 order by datname = $1`,
      [template, `${prefix}%`],
    );
    for (const { datname } of rows) await admin.query(`drop database if exists ${quote(datname)} with (force)`);
  });
}

export default async function setup(project: TestProject) {
  const started = Date.now();
  const server = await startTestServer();
  // Vitest exits on Ctrl-C without calling the teardown below: do what can be done
  // synchronously (stop the embedded server, delete its folder).
  const onExit = () => server.killNow?.();
  process.once('exit', onExit);
  if (server.shared) await dropStaleRuns(server.adminUrl).catch(() => {});
  const template = `mailroom_template_${randomBytes(5).toString('hex')}`;
  try {
    await createTemplate(server, template);
  } catch (error) {
    if (server.shared) await dropDatabases(server.adminUrl, template).catch(() => {});
    await server.stop().catch(() => {});
    process.off('exit', onExit);
    throw error;
  }
  if (process.env.TEST_PG_LOG) {
    process.stderr.write(`[test setup] ${server.description}, template ${template}, ready in ${Date.now() - started} ms\n`);
  }

  project.provide('adminDatabaseUrl', server.adminUrl);
  project.provide('templateDatabase', template);
  project.provide('databaseSource', server.source);

  return async function teardown() {
    try {
      // A shared server (TEST_DATABASE_URL) outlives the run: leave nothing behind.
      // A server of our own is thrown away whole.
      if (server.shared) await dropDatabases(server.adminUrl, template);
    } catch (error) {
      throw new Error(`could not drop the test databases on ${redact(server.adminUrl)}: ${(error as Error).message}`);
    } finally {
      await server.stop();
      process.off('exit', onExit);
    }
  };
}
