// A worker (or serve) started while PostgreSQL is unreachable says so, one line per
// try with a growing backoff, and starts once the database answers; with
// STARTUP_DEADLINE_MS it gives up after that long and exits non-zero; SIGTERM ends
// the wait at once. Never a silent wait. "Unreachable" is both a port that refuses
// and a blackhole that accepts and never answers (./support/blackhole-proxy.ts).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../src/db/embedded-postgres.ts';
import { hostAndPort, startBlackholeProxy, type BlackholeProxy } from './support/blackhole-proxy.ts';
import { useScenario } from './support/scenario.ts';
import { spawnCli, statusCounts, waitUntil, type ChildWorker } from './support/worker.ts';

const s = useScenario();
const children: ChildWorker[] = [];
const proxies: BlackholeProxy[] = [];

afterEach(async () => {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  for (const p of proxies.splice(0)) await p.close();
});
afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
});
beforeEach(async () => {
  await s.pool.query('truncate mailroom.outbox cascade');
  s.sink.reset();
});

function spawn(args: string[], env: Record<string, string>): ChildWorker {
  const child = spawnCli(args, env);
  children.push(child);
  return child;
}

async function proxyTo(options: { port?: number } = {}): Promise<BlackholeProxy> {
  const proxy = await startBlackholeProxy(hostAndPort(s.database.url), options);
  proxies.push(proxy);
  return proxy;
}

interface LogLine {
  msg?: string;
  attempt?: number;
  retryInMs?: number;
}

/** The JSON log lines that report a failed try to reach PostgreSQL. */
function retryLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine)
    .filter((line) => /PostgreSQL unreachable/.test(line.msg ?? ''));
}

const untilRetries = (run: ChildWorker, count: number, timeoutMs = 30_000) =>
  waitUntil(async () => retryLines(run.output()).length, (n) => n >= count || run.child.exitCode !== null, timeoutMs, `${count} retry lines`).then((n) => {
    if (n < count) throw new Error(`exited after ${n} retry line(s):\n${run.output().slice(-3000)}`);
  });

const untilOutput = (run: ChildWorker, text: string, timeoutMs = 30_000) =>
  waitUntil(async () => run.output(), (output) => output.includes(text) || run.child.exitCode !== null, timeoutMs, `"${text}"`).then((output) => {
    if (!output.includes(text)) throw new Error(`exited before "${text}":\n${output.slice(-3000)}`);
  });

async function exitsWithin(run: ChildWorker, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([run.exited, new Promise<'running'>((r) => (timer = setTimeout(r, ms, 'running')))]);
  clearTimeout(timer);
  if (outcome === 'running') throw new Error(`still running after ${ms} ms:\n${run.output().slice(-3000)}`);
  return outcome.code;
}

const enqueueOne = (to: string) =>
  s.pool.query(`select mailroom.enqueue('account-confirm', $1, $2::jsonb)`, [to, JSON.stringify({ token: 'token-0123456789abcdef' })]);

describe('a worker started while PostgreSQL is blackholed', () => {
  it('logs one line per try, backing off, and starts once the database answers', async () => {
    const proxy = await proxyTo();
    proxy.blackhole();
    const worker = spawn(['worker'], s.env({ DATABASE_URL: proxy.url(s.database.url), PG_CONNECT_TIMEOUT_MS: '500', LOG_LEVEL: 'info' }));
    await untilRetries(worker, 3);
    const lines = retryLines(worker.output());
    expect(lines.map((l) => l.attempt)).toEqual(lines.map((_, i) => i + 1));
    // Growing waits (0.5 s doubling, capped at 10 s), each said in the line.
    for (let i = 1; i < lines.length; i++) expect(lines[i]!.retryInMs).toBeGreaterThan(lines[i - 1]!.retryInMs!);
    expect(lines[0]!.msg).toMatch(/PostgreSQL unreachable \(.+\); retrying in [\d.]+ s/);
    expect(worker.output()).not.toContain('worker started');

    proxy.restore();
    await untilOutput(worker, 'worker started', 40_000);
    await enqueueOne('after-blackhole@example.test');
    await waitUntil(() => statusCounts(s.pool), (c) => c.sent === 1, 30_000, 'the email sent');
    worker.child.kill('SIGTERM');
    expect(await exitsWithin(worker, 20_000)).toBe(0);
  });

  it('with STARTUP_DEADLINE_MS, gives up after that long and exits 1 with one line saying why', async () => {
    const proxy = await proxyTo();
    proxy.blackhole();
    const startedAt = Date.now();
    const worker = spawn(
      ['worker'],
      s.env({ DATABASE_URL: proxy.url(s.database.url), PG_CONNECT_TIMEOUT_MS: '1000', STARTUP_DEADLINE_MS: '4000', LOG_LEVEL: 'info' }),
    );
    expect(await exitsWithin(worker, 30_000)).toBe(1);
    // The deadline counts from the first try, after the CLI has loaded (a few seconds here).
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(4_000);
    const output = worker.output();
    expect(retryLines(output).length).toBeGreaterThanOrEqual(2);
    const stderr = output.split('\n').filter((line) => line.startsWith('mailroom:'));
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(/PostgreSQL.*STARTUP_DEADLINE_MS/);
    expect(output).not.toMatch(/\n\s+at /);
  });

  it('SIGTERM while it waits ends the wait: exit 0 within a few seconds', async () => {
    const proxy = await proxyTo();
    proxy.blackhole();
    const worker = spawn(['worker'], s.env({ DATABASE_URL: proxy.url(s.database.url), PG_CONNECT_TIMEOUT_MS: '10000', LOG_LEVEL: 'info' }));
    // In the middle of a try that the blackhole holds for the whole connect timeout.
    await waitUntil(async () => proxy.accepted, (n) => n >= 1, 30_000, 'a connection attempt');
    await new Promise((r) => setTimeout(r, 500));
    worker.child.kill('SIGTERM');
    expect(await exitsWithin(worker, 3_000 + 5_000 + 4_000)).toBe(0);
  });
});

describe('a worker started while nothing listens on the database port', () => {
  it('logs its retries and starts once PostgreSQL listens there', async () => {
    const port = await freePort();
    const url = new URL(s.database.url);
    url.hostname = '127.0.0.1';
    url.port = String(port);
    const worker = spawn(['worker'], s.env({ DATABASE_URL: url.toString(), LOG_LEVEL: 'info' }));
    await untilRetries(worker, 2);
    expect(retryLines(worker.output())[0]!.msg).toMatch(/ECONNREFUSED/);
    await proxyTo({ port });
    await untilOutput(worker, 'worker started', 40_000);
    await enqueueOne('after-refusal@example.test');
    await waitUntil(() => statusCounts(s.pool), (c) => c.sent === 1, 30_000, 'the email sent');
    worker.child.kill('SIGTERM');
    expect(await exitsWithin(worker, 20_000)).toBe(0);
  });
});

describe('`mailroom serve` started while PostgreSQL is blackholed', () => {
  it('listens at once (/healthz answers), logs its retries, and says when the database answers', async () => {
    const proxy = await proxyTo();
    proxy.blackhole();
    const port = await freePort();
    const serve = spawn(['serve'], s.env({ DATABASE_URL: proxy.url(s.database.url), PORT: String(port), PG_CONNECT_TIMEOUT_MS: '500', LOG_LEVEL: 'info' }));
    await untilOutput(serve, 'listening at');
    expect((await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
    await untilRetries(serve, 2);
    proxy.restore();
    await untilOutput(serve, 'PostgreSQL is reachable', 30_000);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(10_000) })).status).toBe(200);
    serve.child.kill('SIGTERM');
    expect(await exitsWithin(serve, 20_000)).toBe(0);
  });

  it('with STARTUP_DEADLINE_MS, exits 1 once it has passed', async () => {
    const proxy = await proxyTo();
    proxy.blackhole();
    const serve = spawn(
      ['serve'],
      s.env({ DATABASE_URL: proxy.url(s.database.url), PORT: String(await freePort()), PG_CONNECT_TIMEOUT_MS: '500', STARTUP_DEADLINE_MS: '3000', LOG_LEVEL: 'info' }),
    );
    await untilOutput(serve, 'listening at');
    expect(await exitsWithin(serve, 30_000)).toBe(1);
    expect(retryLines(serve.output()).length).toBeGreaterThanOrEqual(2);
    expect(serve.output()).toMatch(/mailroom: .*PostgreSQL.*STARTUP_DEADLINE_MS/);
    expect(serve.output()).not.toMatch(/\n\s+at /);
  });
});
