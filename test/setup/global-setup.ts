// Runs once per `vitest run`, in the main process. Picks the PostgreSQL the run uses
// (TEST_DATABASE_URL; else Testcontainers when a container runtime answers; else an
// embedded PostgreSQL: see postgres-server.ts), builds one migrated template
// database on it, and tells the test files where both are. Each file then clones
// the template (test/support/database.ts: CREATE DATABASE ... TEMPLATE, ~0.1 s),
// so no two files share state and none pays for the migration.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../src/migrate.ts';
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

async function createTemplate(server: TestServer, template: string): Promise<void> {
  await withAdmin(server.adminUrl, (admin) => admin.query(`create database ${quote(template)}`));
  try {
    await migrate(databaseUrl(server.adminUrl, template));
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
  const template = `mailroom_template_${randomBytes(5).toString('hex')}`;
  try {
    await createTemplate(server, template);
  } catch (error) {
    if (server.shared) await dropDatabases(server.adminUrl, template).catch(() => {});
    await server.stop().catch(() => {});
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
    }
  };
}
