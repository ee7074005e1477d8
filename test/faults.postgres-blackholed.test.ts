// PostgreSQL unreachable without refusing anything (a blackholed connection: a
// firewall that drops packets, a failover whose old address goes dark). Between the
// CLI processes and the test's database sits a TCP proxy (./support/blackhole-proxy.ts)
// that can stop forwarding while keeping every socket open. Every pool asks for
// statement and idle-in-transaction timeouts and keeps TCP alive; a request answers
// an error instead of hanging; and on SIGTERM every process exits within
// SHUTDOWN_GRACE_MS plus a few seconds, leaving rows in `sending` only where the
// sweeper of the next worker puts them back.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connect } from '../src/db/connect.ts';
import { freePort } from '../src/db/embedded-postgres.ts';
import { hostAndPort, startBlackholeProxy, type BlackholeProxy } from './support/blackhole-proxy.ts';
import { useScenario } from './support/scenario.ts';
import { spawnCli, statusCounts, waitUntil, type ChildWorker } from './support/worker.ts';

const s = useScenario();
let proxy: BlackholeProxy;
const children: ChildWorker[] = [];

beforeAll(async () => {
  proxy = await startBlackholeProxy(hostAndPort(s.database.url));
});
afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  await proxy?.close();
});
beforeEach(async () => {
  proxy.restore();
  await s.pool.query('truncate mailroom.outbox cascade');
  s.sink.reset();
});
afterEach(async () => {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
});

const GRACE_MS = 2_000;
/** "SHUTDOWN_GRACE_MS plus a few seconds": the promise is 5 s; the rest is room for a loaded machine. */
const EXIT_BOUND_MS = GRACE_MS + 5_000 + 4_000;

function spawn(args: string[], env: Record<string, string>): ChildWorker {
  const child = spawnCli(args, env);
  children.push(child);
  return child;
}

/** SIGTERM, then how the process ended and how long it took; SIGKILL and fail past `boundMs`. */
async function terminate(run: ChildWorker, boundMs: number): Promise<{ code: number | null; tookMs: number }> {
  const signalledAt = Date.now();
  run.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    run.exited,
    new Promise<'hung'>((resolve) => (timer = setTimeout(resolve, boundMs, 'hung'))),
  ]);
  clearTimeout(timer);
  const tookMs = Date.now() - signalledAt;
  if (outcome === 'hung') {
    run.child.kill('SIGKILL');
    throw new Error(`still running ${boundMs} ms after SIGTERM\n--- output ---\n${run.output().slice(-3000)}`);
  }
  return { code: outcome.code, tookMs };
}

const waitForOutput = (run: ChildWorker, text: string, timeoutMs = 30_000) =>
  waitUntil(async () => run.output(), (output) => output.includes(text) || run.child.exitCode !== null, timeoutMs, `"${text}" in the output`).then((output) => {
    if (!output.includes(text)) throw new Error(`exited before "${text}":\n${output.slice(-3000)}`);
  });

async function enqueueMany(count: number, prefix: string): Promise<void> {
  await s.pool.query(
    `select mailroom.enqueue('account-confirm', $1 || g || '@example.test', $2::jsonb) from generate_series(1, $3::int) g`,
    [prefix, JSON.stringify({ token: 'token-0123456789abcdef' }), count],
  );
}

/** The worker's sockets to the proxy, by local port: has each one's TCP keepalive timer been seen armed? */
function keepAliveTimers(proxyPort: number): Map<number, boolean> {
  const hex = proxyPort.toString(16).toUpperCase().padStart(4, '0');
  const sockets = new Map<number, boolean>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, local, remote, state, , timer] = line.trim().split(/\s+/);
    if (!local || remote !== `0100007F:${hex}` || state !== '01') continue; // established, towards the proxy
    sockets.set(parseInt(local.split(':')[1]!, 16), timer!.startsWith('02:')); // timer kind 2: keepalive
  }
  return sockets;
}

describe('every pool of `mailroom worker`', () => {
  it('asks for the statement and idle-in-transaction timeouts and keeps TCP alive', async () => {
    const before = proxy.startups.length;
    const worker = spawn(
      ['worker'],
      s.env({
        DATABASE_URL: proxy.url(s.database.url),
        LOG_LEVEL: 'info',
        PG_STATEMENT_TIMEOUT_MS: '43210',
        PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: '32100',
        PG_KEEPALIVE_IDLE_MS: '7000',
      }),
    );
    await waitForOutput(worker, 'worker started');
    // Let it open the connections it keeps (relay, sender, sweeper, pg-boss's loops).
    await enqueueMany(5, 'pools');
    await s.sink.waitFor(5, 30_000);

    const startups = proxy.startups.slice(before);
    const names = new Set(startups.map((m) => m.parameters.application_name));
    expect([...names].sort()).toEqual(expect.arrayContaining(['mailroom-pgboss', 'mailroom-worker']));
    for (const { parameters } of startups) {
      expect(parameters, parameters.application_name).toMatchObject({ statement_timeout: '43210', idle_in_transaction_session_timeout: '32100' });
    }

    // Sampled: a socket with unacknowledged data shows its retransmit timer instead.
    const seen = new Map<number, { samples: number; keepAlive: boolean }>();
    for (let i = 0; i < 20; i++) {
      for (const [port, keepAlive] of keepAliveTimers(proxy.port)) {
        const entry = seen.get(port) ?? { samples: 0, keepAlive: false };
        seen.set(port, { samples: entry.samples + 1, keepAlive: entry.keepAlive || keepAlive });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const steady = [...seen.values()].filter((socket) => socket.samples >= 10);
    expect(steady.length).toBeGreaterThanOrEqual(2);
    expect(steady.filter((socket) => !socket.keepAlive)).toEqual([]);

    expect((await terminate(worker, EXIT_BOUND_MS)).code).toBe(0);
  });
});

describe('a pool whose connection went dark (a failover: the old path is dead, a new one works)', () => {
  it('fails the query on it within the statement timeout plus 5 s, then drops it: the next query gets a new connection', async () => {
    const db = connect(proxy.url(s.database.url), { max: 1, statementTimeoutMs: 1_000, applicationName: 'mailroom-test-dark' });
    try {
      const one = () => sql<{ one: number }>`select 1 as one`.execute(db.kysely).then((r) => r.rows[0]!.one);
      expect(await one()).toBe(1);
      proxy.blackholeOpen();
      const startedAt = Date.now();
      await expect(one()).rejects.toThrow(/Query read timeout/);
      expect(Date.now() - startedAt).toBeLessThan(15_000);
      // Through Kysely as through the pool: the dead connection is not handed out again.
      const again = Date.now();
      expect(await one()).toBe(1);
      expect(Date.now() - again).toBeLessThan(3_000);
      expect((await db.pool.query('select 2 as two')).rows).toEqual([{ two: 2 }]);
    } finally {
      await db.close();
    }
  });
});

describe('`mailroom serve` with PostgreSQL blackholed', () => {
  it('answers an admin page with an error within its timeouts instead of hanging, and exits within SHUTDOWN_GRACE_MS + 5 s of SIGTERM', async () => {
    const port = await freePort();
    const adminToken = 'blackholed-admin-token-0123456789';
    const serve = spawn(
      ['serve'],
      s.env({
        DATABASE_URL: proxy.url(s.database.url),
        PORT: String(port),
        ADMIN_TOKEN: adminToken,
        LOG_LEVEL: 'info',
        // A new connection waits 10 s (the default) for the blackhole, longer than the grace period.
        PG_CONNECT_TIMEOUT_MS: '10000',
        PG_STATEMENT_TIMEOUT_MS: '2000',
        SHUTDOWN_GRACE_MS: String(GRACE_MS),
      }),
    );
    await waitForOutput(serve, 'listening at');
    const base = `http://127.0.0.1:${port}`;

    // Sign in as a browser would: the form's nonce cookie and CSRF token, then the token.
    const form = await fetch(`${base}/admin/login`);
    const nonce = form.headers.get('set-cookie')!.split(';')[0]!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
    const login = await fetch(`${base}/admin/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: nonce },
      body: new URLSearchParams({ _csrf: csrf, token: adminToken, next: '/admin' }).toString(),
    });
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const overview = () => fetch(`${base}/admin`, { headers: { cookie }, signal: AbortSignal.timeout(40_000) });
    expect((await overview()).status).toBe(200);

    proxy.blackhole();
    const startedAt = Date.now();
    const answer = await overview().then((r) => r.status, (error: Error) => `no answer: ${error.message}`);
    const tookMs = Date.now() - startedAt;
    expect(answer).toBe(500);
    // The statement timeout (2 s) plus the client's margin for a server that cannot answer.
    expect(tookMs).toBeLessThan(20_000);
    // Probes still answer.
    expect((await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);

    // A request stuck on the database (its connection attempt) does not hold the
    // shutdown: it is cut after the grace period.
    const stuck = overview().then((r) => r.status, () => 'cut');
    await new Promise((r) => setTimeout(r, 300));
    const stopped = await terminate(serve, EXIT_BOUND_MS);
    expect([0, 1], serve.output().slice(-2000)).toContain(stopped.code);
    expect(await stuck).toBe('cut');
    console.log(`serve, admin page with PostgreSQL blackholed: ${answer} after ${tookMs} ms; SIGTERM: exited ${stopped.code} after ${stopped.tookMs} ms; the stuck request: ${await stuck}`);
  });
});

describe('`mailroom worker` SIGTERMed mid-batch with PostgreSQL blackholed', () => {
  it('exits within SHUTDOWN_GRACE_MS + 5 s, and the next worker sends every row it left `sending`', async () => {
    const total = 40;
    const env = s.env({
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      WORKER_BATCH_SIZE: '10',
      SMTP_MAX_CONNECTIONS: '2',
      // A short lease, so that the next worker takes back the rows of this one soon.
      WORKER_JOB_TIMEOUT_S: '6',
      PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: '3000',
      LOG_LEVEL: 'info',
    });
    s.sink.setDelay(250);
    await enqueueMany(total, 'held');
    const first = spawn(['worker'], { ...env, DATABASE_URL: proxy.url(s.database.url) });
    await s.sink.waitFor(3, 30_000).catch((error: Error) => {
      throw new Error(`${error.message}\n--- worker output ---\n${first.output().slice(-3000)}`);
    });
    await waitUntil(() => statusCounts(s.pool), (c) => (c.sending ?? 0) > 0, 10_000, 'a batch in flight');

    proxy.blackhole();
    await new Promise((r) => setTimeout(r, 500));
    const stopped = await terminate(first, EXIT_BOUND_MS);
    expect([0, 1], first.output().slice(-2000)).toContain(stopped.code);

    // The database never heard how those sends ended.
    const left = (await statusCounts(s.pool)).sending ?? 0;
    console.log(`SIGTERM with PostgreSQL blackholed: exited ${stopped.code} after ${stopped.tookMs} ms, ${left} row(s) left sending`);

    // The old connections stay blackholed (never closed) while the next worker runs.
    s.sink.setDelay(0);
    const second = spawn(['worker'], env);
    const final = await waitUntil(() => statusCounts(s.pool), (c) => (c.sent ?? 0) === total, 60_000, 'every row sent by the next worker');
    expect(final).toEqual({ sent: total });
    const { rows } = await s.pool.query(`select count(distinct outbox_id)::int as n from mailroom.delivery_attempt where error_class = 'ambiguous'`);
    expect(rows[0].n).toBeGreaterThanOrEqual(left);
    expect((await terminate(second, EXIT_BOUND_MS)).code).toBe(0);
  });
});

describe('`mailroom dev` on a DATABASE_URL that goes dark', () => {
  it('exits within SHUTDOWN_GRACE_MS + 5 s of SIGTERM', async () => {
    const captureDir = await mkdtemp(join(tmpdir(), 'mailroom-blackholed-dev-'));
    try {
      const dev = spawn(
        ['dev'],
        s.env({
          DATABASE_URL: proxy.url(s.database.url),
          MAIL_TRANSPORT: 'capture',
          CAPTURE_DIR: captureDir,
          PORT: String(await freePort()),
          LOG_PRETTY: 'false',
          LOG_LEVEL: 'info',
          SHUTDOWN_GRACE_MS: String(GRACE_MS),
        }),
      );
      await waitForOutput(dev, 'mailroom dev is running', 60_000);
      await enqueueMany(3, 'dev');
      await waitUntil(() => statusCounts(s.pool), (c) => (c.sent ?? 0) === 3, 30_000, 'dev sending');

      proxy.blackhole();
      await new Promise((r) => setTimeout(r, 500));
      const stopped = await terminate(dev, EXIT_BOUND_MS);
      expect([0, 1], dev.output().slice(-2000)).toContain(stopped.code);
      console.log(`dev, SIGTERM with PostgreSQL blackholed: exited ${stopped.code} after ${stopped.tookMs} ms`);
    } finally {
      await rm(captureDir, { recursive: true, force: true });
    }
  });
});
