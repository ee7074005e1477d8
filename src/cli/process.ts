// Process-level plumbing shared by the long-running commands: start-up errors as
// one clear line, and a clean stop on SIGTERM / SIGINT that cannot take longer than
// its deadline, whatever PostgreSQL does.
import { inspect } from 'node:util';
import { ConfigError } from './env.ts';
import { DatabaseUnreachableError } from '../db/connect.ts';
import { ValidationError } from '../errors.ts';
import type { Server } from '../http/server.ts';
import type { Logger } from '../logger.ts';
import { ConfigFileError } from './load-config.ts';

/** How long after SHUTDOWN_GRACE_MS a stopping process may take before it exits anyway. */
export const SHUTDOWN_MARGIN_MS = 5_000;

/** The moment a process that got SIGTERM exits at the latest: SHUTDOWN_GRACE_MS + 5 s. */
export const shutdownDeadlineMs = (config: { SHUTDOWN_GRACE_MS: number }) => config.SHUTDOWN_GRACE_MS + SHUTDOWN_MARGIN_MS;

/** Stacks are for debugging: LOG_LEVEL=debug (or trace) prints them under the line. */
const showStacks = () => /^(debug|trace)$/i.test(process.env.LOG_LEVEL ?? '');

const messageOf = (error: unknown) =>
  error instanceof Error ? error.message || String((error as { code?: unknown }).code ?? error.name) : String(error);

/** Print an error the user can act on, as one line, and exit non-zero. The stack only with LOG_LEVEL=debug. */
export function exitWithError(error: unknown): never {
  let line: string;
  let withStack = showStacks();
  if (error instanceof ConfigError) {
    line = `configuration error: ${error.message}`;
    withStack = false;
  } else if (error instanceof ConfigFileError || error instanceof ValidationError || (error instanceof Error && (error.name === 'EmbeddedPostgresMissing' || error.name === 'EmbeddedPostgresBusy'))) {
    line = error.message;
    withStack = false;
  } else if (error instanceof DatabaseUnreachableError) {
    line = `cannot reach PostgreSQL: still unreachable after ${error.deadlineMs} ms (STARTUP_DEADLINE_MS): ${error.lastError}. Is DATABASE_URL right?`;
  } else if (error instanceof Error && (error as { code?: string }).code === 'ECONNREFUSED') {
    line = `cannot reach PostgreSQL (${messageOf(error)}). Is DATABASE_URL right?`;
  } else {
    line = messageOf(error).split('\n')[0]!;
  }
  process.stderr.write(`mailroom: ${line}\n${withStack ? `${inspect(error)}\n` : ''}`);
  process.exit(1);
}

export interface ShutdownOptions {
  /**
   * Exit anyway this long after the signal if `stop` has not finished: status 1, one
   * line on standard error. The CLI gives shutdownDeadlineMs(config).
   */
  deadlineMs: number;
}

/**
 * Run `stop` once on the first SIGTERM or SIGINT, then exit 0 (1 if it throws). A
 * second signal exits at once (the operator insists), and so does the deadline.
 */
export function onShutdownSignal(stop: (signal: string) => Promise<void>, options: ShutdownOptions): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`mailroom: ${signal} again, exiting now\n`);
      process.exit(130);
    }
    stopping = true;
    // Whatever stop() waits on (most likely a database that does not answer). A worker's
    // rows left `sending` go back in line by the next worker's sweeper.
    setTimeout(() => {
      process.stderr.write(`mailroom: still stopping ${options.deadlineMs / 1000} s after ${signal} (the shutdown deadline); exiting now with status 1\n`);
      process.exit(1);
    }, options.deadlineMs);
    stop(signal).then(
      () => process.exit(0),
      (error) => exitWithError(error),
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/**
 * Stop an HTTP server: no new connections, requests in flight get `graceMs` to end,
 * then their connections are cut (a request stuck on an unreachable database must
 * not hold the shutdown).
 */
export async function closeHttpServer(server: Server, graceMs: number, logger: Logger): Promise<void> {
  const closed = server.close().then(
    () => true,
    () => true,
  );
  if (await settlesWithin(closed, graceMs)) return;
  logger.warn({ graceMs }, 'shutdown: requests still running after the grace period; closing their connections');
  server.server.closeAllConnections();
  await settlesWithin(closed, 1_000);
}

/** Resolve true if `promise` settles within `ms`, false otherwise (it goes on in the background). */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(resolve, ms, false))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
