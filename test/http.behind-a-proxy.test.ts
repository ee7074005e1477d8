// Behind a reverse proxy (TRUST_PROXY): over real sockets, the proxy being this test
// at 127.0.0.1. With the proxy trusted, X-Forwarded-For names the client (each gets
// its own rate limits: the reference app's auth routes, the admin sign-in) and
// X-Forwarded-Proto says whether it came over HTTPS (Secure cookies, HSTS). Without
// TRUST_PROXY, or from a proxy not on the list, those headers are ignored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateApp } from '../app/index.ts';
import { clientKey, loginLimiter } from '../src/admin/http/login-limit.ts';
import { httpOptionsFromEnv } from '../src/cli/http-from-env.ts';
import { loadConfig } from '../src/cli/env.ts';
import { connect, type Db } from '../src/db/connect.ts';
import { buildServer, type Server } from '../src/http/server.ts';
import { createLogger } from '../src/logger.ts';
import { appConfig } from './support/app-config.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

const TOKEN = 'test-admin-token-0123456789abcdef';
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

let database: TestDatabase;
let db: Db;
const servers: Server[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  await migrateApp(database.url);
  db = connect(database.url, { max: 4, applicationName: 'mailroom-test-proxy' });
});
afterAll(async () => {
  for (const server of servers) await server.close();
  await db?.close();
  await database?.drop();
});

interface Client {
  /** A request as the proxy forwards it: `forwardedFor` and `proto` become X-Forwarded-* headers. */
  request(path: string, options?: { method?: string; forwardedFor?: string; proto?: string; cookie?: string; form?: Record<string, string>; json?: unknown }): Promise<Response>;
}

/** A server as `mailroom serve` builds it from this environment, listening on a real port. */
async function serve(env: Record<string, string>): Promise<Client> {
  const server = buildServer({
    db,
    logger,
    adminToken: TOKEN,
    config: appConfig({ authRateLimit: { max: 2, timeWindowMs: 60_000 } }),
    ...httpOptionsFromEnv(loadConfig(env)),
  });
  servers.push(server);
  const address = await server.listen({ host: '127.0.0.1', port: 0 });
  return {
    request: (path, { method = 'GET', forwardedFor, proto, cookie, form, json } = {}) =>
      fetch(`${address}${path}`, {
        method,
        redirect: 'manual',
        headers: {
          ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
          ...(proto ? { 'x-forwarded-proto': proto } : {}),
          ...(cookie ? { cookie } : {}),
          ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(form ? { body: new URLSearchParams(form).toString() } : {}),
        ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
      }),
  };
}

/** POST /auth/password-reset for an unknown address (202 while under the limit). */
const askReset = (client: Client, forwardedFor?: string) =>
  client.request('/auth/password-reset', { method: 'POST', json: { email: 'nobody@example.test' }, ...(forwardedFor ? { forwardedFor } : {}) }).then((r) => r.status);

/** GET the sign-in form, then POST it with this token: the POST's response. */
async function signIn(client: Client, token: string, via: { forwardedFor?: string; proto?: string } = {}) {
  const form = await client.request('/admin/login', via);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
  const nonce = (form.headers.getSetCookie()[0] ?? '').split(';')[0]!;
  return client.request('/admin/login', { ...via, method: 'POST', cookie: nonce, form: { _csrf: csrf, token, next: '/admin/outbox' } });
}

describe('httpOptionsFromEnv', () => {
  it('defaults: trust no proxy, 30 s for a request to arrive, 10 admin sign-ins a minute per address', () => {
    expect(httpOptionsFromEnv(loadConfig({}))).toEqual({ trustProxy: undefined, requestTimeoutMs: 30_000, adminLoginRateLimit: 10 });
    expect(httpOptionsFromEnv(loadConfig({ TRUST_PROXY: '2', HTTP_REQUEST_TIMEOUT_MS: '5000', ADMIN_LOGIN_RATE_LIMIT: '3' }))).toEqual({
      trustProxy: 2,
      requestTimeoutMs: 5_000,
      adminLoginRateLimit: 3,
    });
    expect(httpOptionsFromEnv(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' })).trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1']);
  });
});

describe('the reference app\'s auth rate limit', () => {
  it('with TRUST_PROXY naming the proxy: two clients behind it get separate limits', async () => {
    const client = await serve({ TRUST_PROXY: '127.0.0.1' });
    expect([await askReset(client, '203.0.113.1'), await askReset(client, '203.0.113.1'), await askReset(client, '203.0.113.1')]).toEqual([202, 202, 429]);
    // Another client behind the same proxy still has its own allowance.
    expect([await askReset(client, '203.0.113.2'), await askReset(client, '203.0.113.2'), await askReset(client, '203.0.113.2')]).toEqual([202, 202, 429]);
  });

  it('with TRUST_PROXY as a hop count (1: the one proxy in front): the same', async () => {
    const client = await serve({ TRUST_PROXY: '1' });
    expect([await askReset(client, '198.51.100.7'), await askReset(client, '198.51.100.7'), await askReset(client, '198.51.100.7')]).toEqual([202, 202, 429]);
    // A client cannot dodge it by prepending addresses of its own: the proxy appends the real one.
    expect(await askReset(client, '192.0.2.99, 198.51.100.7')).toBe(429);
    expect(await askReset(client, '198.51.100.8')).toBe(202);
  });

  it('without TRUST_PROXY: X-Forwarded-For is ignored, the socket\'s address is the client', async () => {
    const client = await serve({});
    expect(await askReset(client, '203.0.113.1')).toBe(202);
    expect(await askReset(client, '203.0.113.2')).toBe(202);
    // A third "client" is the same socket address: limited, whatever it claims.
    expect(await askReset(client, '203.0.113.3')).toBe(429);
    expect(await askReset(client)).toBe(429);
  });

  it('from a proxy not on the list: X-Forwarded-For is ignored', async () => {
    const client = await serve({ TRUST_PROXY: '10.0.0.0/8' });
    expect([await askReset(client, '203.0.113.1'), await askReset(client, '203.0.113.2'), await askReset(client, '203.0.113.3')]).toEqual([202, 202, 429]);
  });
});

describe('HTTPS as the proxy saw it', () => {
  const secure = (response: Response) => response.headers.getSetCookie().map((c) => /; Secure(;|$)/.test(c));

  it('with TRUST_PROXY and X-Forwarded-Proto https: the admin cookies are Secure and responses carry HSTS', async () => {
    const client = await serve({ TRUST_PROXY: '127.0.0.1' });
    const form = await client.request('/admin/login', { proto: 'https' });
    expect(secure(form)).toEqual([true]);
    expect(form.headers.get('strict-transport-security')).toBe('max-age=31536000');

    const signedIn = await signIn(client, TOKEN, { proto: 'https' });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.getSetCookie()).toHaveLength(2);
    expect(secure(signedIn)).toEqual([true, true]); // the session, and the spent nonce
    expect(signedIn.headers.get('strict-transport-security')).toBe('max-age=31536000');
    const session = signedIn.headers.getSetCookie()[0]!.split(';')[0]!;
    const page = await client.request('/admin/outbox', { proto: 'https', cookie: session });
    expect(page.status).toBe(200);
    expect(page.headers.get('strict-transport-security')).toBe('max-age=31536000');
    // And the rest of the server: probes, the app's routes.
    expect((await client.request('/healthz', { proto: 'https' })).headers.get('strict-transport-security')).toBe('max-age=31536000');
    const app = await client.request('/auth/password-reset', { method: 'POST', proto: 'https', json: { email: 'nobody@example.test' } });
    expect(app.headers.get('strict-transport-security')).toBe('max-age=31536000');
  });

  it('over plain http behind the trusted proxy: no Secure, no HSTS', async () => {
    const client = await serve({ TRUST_PROXY: '127.0.0.1' });
    const signedIn = await signIn(client, TOKEN, { proto: 'http' });
    expect(signedIn.status).toBe(303);
    expect(secure(signedIn)).toEqual([false, false]);
    expect(signedIn.headers.get('strict-transport-security')).toBeNull();
    expect((await client.request('/healthz')).headers.get('strict-transport-security')).toBeNull();
  });

  it('without TRUST_PROXY, X-Forwarded-Proto is not believed: no Secure, no HSTS', async () => {
    const client = await serve({});
    const form = await client.request('/admin/login', { proto: 'https' });
    expect(secure(form)).toEqual([false]);
    expect(form.headers.get('strict-transport-security')).toBeNull();
    const signedIn = await signIn(client, TOKEN, { proto: 'https' });
    expect(secure(signedIn)).toEqual([false, false]);
    expect((await client.request('/healthz', { proto: 'https' })).headers.get('strict-transport-security')).toBeNull();
  });
});

/** The admin limit counts in clock minutes: start a burst well inside one, so it is not split across two. */
async function awayFromMinuteEdge() {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 5_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

describe('admin sign-in rate limit (ADMIN_LOGIN_RATE_LIMIT per client address a minute)', () => {
  it('answers 429 in the admin\'s page style past the limit, even with the right token; other clients are not held up', async () => {
    const client = await serve({ TRUST_PROXY: '127.0.0.1', ADMIN_LOGIN_RATE_LIMIT: '3' });
    const guesser = { forwardedFor: '203.0.113.66' };
    await awayFromMinuteEdge();
    for (let i = 0; i < 3; i++) expect((await signIn(client, 'a wrong guess', guesser)).status).toBe(401);
    const limited = await signIn(client, TOKEN, guesser);
    expect(limited.status).toBe(429);
    expect(limited.headers.getSetCookie().join()).not.toContain('mailroom_admin=');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(limited.headers.get('content-type')).toMatch(/^text\/html/);
    expect(limited.headers.get('content-security-policy')).toContain("default-src 'none'");
    const body = await limited.text();
    expect(body).toContain('/admin/style.css');
    expect(body).toMatch(/Too many sign-in attempts/);

    // The sign-in form itself stays up; another client behind the proxy signs in.
    expect((await client.request('/admin/login', guesser)).status).toBe(200);
    expect((await signIn(client, TOKEN, { forwardedFor: '203.0.113.67' })).status).toBe(303);
  });

  it('counts 10 a minute by default, and without TRUST_PROXY everyone behind a proxy shares them', async () => {
    const client = await serve({});
    await awayFromMinuteEdge();
    for (let i = 0; i < 10; i++) expect((await signIn(client, 'a wrong guess', { forwardedFor: `203.0.113.${i}` })).status).toBe(401);
    expect((await signIn(client, TOKEN, { forwardedFor: '203.0.113.200' })).status).toBe(429);
  });

  it('counts in fixed one-minute windows, an IPv6 /64 as one client, and caps the addresses it remembers', () => {
    const limiter = loginLimiter({ max: 2, maxAddresses: 3 });
    const t = 1_800_000_000_000; // the start of a minute
    expect([limiter.take('192.0.2.1', t), limiter.take('192.0.2.1', t + 1), limiter.take('192.0.2.1', t + 15_000)]).toEqual([
      { allowed: true },
      { allowed: true },
      { allowed: false, retryAfterSeconds: 45 },
    ]);
    expect(limiter.take('192.0.2.1', t + 60_000)).toEqual({ allowed: true }); // the next window
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2::ffff')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(clientKey('192.0.2.1')).toBe('192.0.2.1');
    limiter.take('2001:db8:1:2::1', t + 60_000);
    expect(limiter.take('2001:db8:1:2::2', t + 60_000)).toEqual({ allowed: true });
    expect(limiter.take('2001:db8:1:2:ffff::3', t + 60_000)).toMatchObject({ allowed: false });
    // Three addresses remembered (192.0.2.1, the /64, 192.0.2.2); newcomers share one counter.
    limiter.take('192.0.2.2', t + 60_000);
    expect([limiter.take('192.0.2.3', t + 60_000), limiter.take('192.0.2.4', t + 60_000), limiter.take('192.0.2.5', t + 60_000)].map((r) => r.allowed)).toEqual([true, true, false]);
  });
});
