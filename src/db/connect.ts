// One pg pool and one Kysely instance per process; everything else borrows them.
// Every pool mailroom opens (this one, pg-boss's) carries the same timeouts, so a
// database that stops answering fails queries and shutdowns instead of hanging them.
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from './types.ts';

/** How mailroom's connections to PostgreSQL give up. Every field is optional; defaults are DEFAULT_DATABASE_OPTIONS. */
export interface DatabaseOptions {
  /** How long opening a connection may take (TCP, TLS, authentication), in ms. Default 10,000. */
  connectTimeoutMs?: number;
  /**
   * The session's `statement_timeout`: PostgreSQL cancels a statement that runs longer, in ms.
   * The client also stops waiting for an answer 5 s after it (a server that cannot be
   * reached cannot cancel anything). 0: mailroom sets none. Default 60,000.
   */
  statementTimeoutMs?: number;
  /** The session's `idle_in_transaction_session_timeout`: PostgreSQL ends a session left idle inside a transaction (and frees its locks), in ms. 0: mailroom sets none. Default 60,000. */
  idleInTransactionTimeoutMs?: number;
  /** TCP keepalive: idle time before the first probe, in ms (the probes' interval and count are the OS's). 0: off. Default 10,000. */
  keepAliveIdleMs?: number;
}

export const DEFAULT_DATABASE_OPTIONS: Readonly<Required<DatabaseOptions>> = Object.freeze({
  connectTimeoutMs: 10_000,
  statementTimeoutMs: 60_000,
  idleInTransactionTimeoutMs: 60_000,
  keepAliveIdleMs: 10_000,
});

/** How much longer than statement_timeout the client waits before it gives up on an answer. */
export const QUERY_TIMEOUT_MARGIN_MS = 5_000;

/** The options with their defaults, checked; throws RangeError naming the field. */
export function resolveDatabaseOptions(options: DatabaseOptions = {}, who = 'database'): Required<DatabaseOptions> {
  const resolved = { ...DEFAULT_DATABASE_OPTIONS };
  for (const [key, value] of Object.entries(options) as [keyof DatabaseOptions, number | undefined][]) {
    if (value !== undefined) resolved[key] = value;
  }
  const check = (field: keyof DatabaseOptions, min: number, max: number) => {
    const value = resolved[field];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`${who}.${field} must be an integer from ${min} to ${max} (got ${String(value)})`);
    }
  };
  check('connectTimeoutMs', 100, 600_000);
  check('statementTimeoutMs', 0, 86_400_000);
  check('idleInTransactionTimeoutMs', 0, 86_400_000);
  check('keepAliveIdleMs', 0, 3_600_000);
  return resolved;
}

/**
 * The pg settings for `options` (pg.Pool, pg.Client and pg-boss all take them): the
 * connect timeout, the two session timeouts sent at connection start-up, a client-side
 * read timeout a little past the statement timeout, and TCP keepalive.
 */
export function pgTimeoutSettings(options: DatabaseOptions = {}): Pick<
  pg.PoolConfig,
  'connectionTimeoutMillis' | 'statement_timeout' | 'query_timeout' | 'idle_in_transaction_session_timeout' | 'keepAlive' | 'keepAliveInitialDelayMillis'
> {
  const o = resolveDatabaseOptions(options);
  return {
    connectionTimeoutMillis: o.connectTimeoutMs,
    ...(o.statementTimeoutMs > 0 ? { statement_timeout: o.statementTimeoutMs, query_timeout: o.statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS } : {}),
    ...(o.idleInTransactionTimeoutMs > 0 ? { idle_in_transaction_session_timeout: o.idleInTransactionTimeoutMs } : {}),
    keepAlive: o.keepAliveIdleMs > 0,
    ...(o.keepAliveIdleMs > 0 ? { keepAliveInitialDelayMillis: o.keepAliveIdleMs } : {}),
  };
}

// timestamptz as Date, bigint (count(*)) as string: pg's defaults, stated here so
// nobody has to wonder.
export interface Db {
  pool: pg.Pool;
  kysely: Kysely<Database>;
  close(): Promise<void>;
}

export interface ConnectOptions extends DatabaseOptions {
  /** Connections in the pool. Default 10. */
  max?: number;
  /** application_name, as pg_stat_activity shows it. Default `mailroom`. */
  applicationName?: string;
}

export function connect(databaseUrl: string, options: ConnectOptions = {}): Db {
  const { max, applicationName, ...database } = options;
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: max ?? 10,
    application_name: applicationName ?? 'mailroom',
    ...pgTimeoutSettings(database),
  });
  // An idle client that loses its connection emits here; without a listener the process dies.
  pool.on('error', () => {});
  // A checked-out client has no pool listener: a connection the server ends while Kysely
  // (or anyone) holds it (a restart) would emit an unheard 'error' and kill the process.
  // The query in flight fails on its own, and pg-pool drops the broken client on release.
  pool.on('connect', (client) => client.on('error', () => {}));
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool: poolForKysely(pool) }) });
  let closed = false;
  return {
    pool,
    kysely,
    async close() {
      if (closed) return;
      closed = true;
      await kysely.destroy();
      // Kysely ends the pool only if it ever ran a query itself; code that used only
      // the pool would otherwise keep the process alive until pg's idle timeout.
      if (!pool.ended) await pool.end();
    },
  };
}

/**
 * The pool as Kysely borrows it. Kysely hands a client back without the error its
 * query failed with, so a connection whose server went silent (a read timeout) would
 * go back to the pool with its query still pending and stall every later query on
 * it. This hands such a client back as broken instead: the pool drops it and the next
 * query gets a new connection, as pool.query() and the relay already do.
 */
function poolForKysely(pool: pg.Pool): PostgresPool {
  const views = new WeakMap<pg.PoolClient, { view: PostgresPoolClient; state: { broken: boolean } }>();
  const viewOf = (client: pg.PoolClient) => {
    const state = { broken: false };
    const view = {
      // Kysely reads it to cancel a query (pg's Client has it, undocumented).
      get processID() {
        return (client as { processID?: number }).processID;
      },
      query(...args: unknown[]) {
        const result = (client.query as (...a: unknown[]) => unknown)(...args);
        if (!(result instanceof Promise)) return result; // a cursor
        return result.catch((error: unknown) => {
          if (isUnreachable(error)) state.broken = true;
          throw error;
        });
      },
      release(destroy?: boolean) {
        const broken = state.broken;
        state.broken = false;
        client.release(destroy || broken);
      },
    } as PostgresPoolClient;
    return { view, state };
  };
  return {
    options: pool.options,
    async connect() {
      const client = await pool.connect();
      let entry = views.get(client);
      if (!entry) views.set(client, (entry = viewOf(client)));
      return entry.view;
    },
    end: () => pool.end(),
  };
}

/** PostgreSQL could not be reached before the start-up deadline. */
export class DatabaseUnreachableError extends Error {
  constructor(
    readonly deadlineMs: number,
    readonly lastError: string,
    options?: { cause?: unknown },
  ) {
    super(`PostgreSQL is still unreachable after ${deadlineMs} ms (${lastError})`, options);
    this.name = 'DatabaseUnreachableError';
  }
}

export interface WaitForDatabaseOptions {
  /** Where each failed try is reported (one warning a try). Default: nowhere. */
  logger?: Logger;
  /** Give up after this long, with DatabaseUnreachableError. 0: keep trying. Default 0. */
  deadlineMs?: number;
  /** Stop trying (rejects with the signal's reason). */
  signal?: AbortSignal;
}

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 10_000;

/**
 * Resolve once `db` answers `select 1`. While PostgreSQL cannot be reached (refused,
 * timed out, starting up, too many connections) it logs one line per try and tries
 * again after 0.5 s, doubling up to 10 s. Any other error (a wrong password, no such
 * database) is thrown at once: trying again would not help.
 */
export async function waitForDatabase(db: Db, options: WaitForDatabaseOptions = {}): Promise<void> {
  const { logger, deadlineMs = 0, signal } = options;
  const startedAt = Date.now();
  const remaining = () => (deadlineMs > 0 ? deadlineMs - (Date.now() - startedAt) : Infinity);
  let lastError: unknown;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      // A try that outlives the deadline (a connect timeout longer than what is left) is
      // not waited for; the last one gets at least a second.
      await raceDeadline(db.pool.query('select 1'), Math.max(remaining(), 1_000), signal);
      if (attempt > 1) logger?.info({ attempts: attempt }, 'PostgreSQL is reachable');
      return;
    } catch (error) {
      if (error === DEADLINE) throw new DatabaseUnreachableError(deadlineMs, describeError(lastError ?? 'no answer'), { cause: lastError });
      signal?.throwIfAborted();
      if (!isUnreachable(error)) throw error;
      lastError = error;
    }
    const wait = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (attempt - 1));
    if (remaining() <= 0) throw new DatabaseUnreachableError(deadlineMs, describeError(lastError), { cause: lastError });
    const retryInMs = Math.min(wait, remaining());
    logger?.warn({ attempt, retryInMs }, `PostgreSQL unreachable (${describeError(lastError)}); retrying in ${retryInMs / 1000} s`);
    await sleep(retryInMs, signal);
  }
}

const DEADLINE = Symbol('deadline');

function raceDeadline<T>(promise: Promise<T>, ms: number, signal?: AbortSignal): Promise<T> {
  if (ms === Infinity && !signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = ms === Infinity ? undefined : setTimeout(() => done(() => reject(DEADLINE)), Math.max(0, ms));
    const onAbort = () => done(() => reject(signal!.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
    function done(settle: () => void) {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    }
    promise.then(
      (value) => done(() => resolve(value)),
      (error) => done(() => reject(error)),
    );
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return raceDeadline(new Promise<never>(() => {}), ms, signal).catch((error) => {
    if (error !== DEADLINE) throw error;
  });
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up, shutting down, in recovery
  '53300', // too_many_connections
]);

/** A failure to reach the server (worth another try), as opposed to a refusal by it. */
export function isUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || code.startsWith('08'))) return true;
  if (error instanceof AggregateError) return error.errors.some(isUnreachable);
  // pg's own words for a connect timeout, a read timeout and a connection that ended.
  return /timeout expired|Query read timeout|Connection terminated|connection timeout/i.test(error.message);
}

function describeError(error: unknown): string {
  if (error instanceof AggregateError && !error.message) return error.errors.map(describeError).join(', ');
  if (error instanceof Error) return error.message || String((error as { code?: unknown }).code ?? error.name);
  return String(error);
}
