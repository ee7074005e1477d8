// Start the real worker (relay + sender + sweeper) in this process, or as a child
// process running the CLI, against a test database and SMTP sink.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { launchWorker, type RunningWorker } from '../../src/cli/commands/worker.ts';
import { loadConfig } from '../../src/cli/env.ts';
import { createLogger } from '../../src/logger.ts';
import type { MailroomConfig } from '../../src/index.ts';
import { CONFIG_FILE, config as fixtureConfig } from './mailroom.ts';

/** The product's config file, for the product's tests that run the CLI (MAILROOM_CONFIG). */
export const PRODUCT_CONFIG_FILE = fileURLToPath(new URL('../../mailroom.config.ts', import.meta.url));

/** The unsubscribe links of test workers (a test that serves them points a server at the same secret). */
export const TEST_UNSUBSCRIBE = { baseUrl: 'http://localhost:3999', secret: 'test-unsubscribe-secret-0123456789abcdef' } as const;

/** Settings that make the loops quick enough for tests; anything can be overridden. */
export function testEnv(databaseUrl: string, smtpUrl: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    // CLI commands a test runs load the library's fixture catalogue; a product test overrides it.
    MAILROOM_CONFIG: CONFIG_FILE,
    MAIL_TRANSPORT: 'smtp',
    SMTP_URL: smtpUrl,
    SMTP_TIMEOUT_MS: '3000',
    RELAY_POLL_MS: '20',
    SWEEP_INTERVAL_MS: '500',
    // Long enough that a slow machine never takes a live send for a dead worker
    // (which would resend it); the crash test shortens it to see recovery quickly.
    WORKER_JOB_TIMEOUT_S: '30',
    RETRY_BASE_MS: '400',
    SHUTDOWN_GRACE_MS: '3000',
    FRONTEND_BASE_URL: 'https://app.example',
    // The fixture's weekly-digest and the product's digests carry unsubscribe links.
    UNSUBSCRIBE_BASE_URL: TEST_UNSUBSCRIBE.baseUrl,
    UNSUBSCRIBE_SECRET: TEST_UNSUBSCRIBE.secret,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
  };
}

/** A worker in this process on `mailroomConfig` (default: the library's fixture catalogue). */
export async function startInProcessWorker(env: Record<string, string>, mailroomConfig: MailroomConfig<any> = fixtureConfig): Promise<RunningWorker> {
  const config = loadConfig(env);
  const logger = createLogger({ level: config.LOG_LEVEL });
  return launchWorker(mailroomConfig, config, config.DATABASE_URL!, logger);
}

const CLI = fileURLToPath(new URL('../../bin/mailroom.js', import.meta.url));

export interface ChildWorker {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `mailroom <args>` as a real child process (for signals: SIGKILL, SIGTERM). */
export function spawnCli(
  args: string[],
  env: Record<string, string>,
  options: { cli?: string; cwd?: string; cleanEnv?: boolean } = {},
): ChildWorker {
  // The library's fixture catalogue unless the caller names a config (the product's tests do).
  const base = options.cleanEnv ? { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' } : { ...process.env, MAILROOM_CONFIG: CONFIG_FILE };
  const child = spawn(process.execPath, [options.cli ?? CLI, ...args], {
    env: { ...base, ...env },
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

/** Run a CLI command to completion. */
export async function runCli(args: string[], env: Record<string, string>) {
  const run = spawnCli(args, env);
  const { code } = await run.exited;
  return { code, output: run.output() };
}

/** Poll a query until `done` says yes, or fail with the last value after `timeoutMs`. */
export async function waitUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  return value;
}

export async function statusCounts(pool: pg.Pool): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ status: string; n: string }>('select status, count(*) as n from mailroom.outbox group by status');
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}
