// The admin pages' gate, over HTTP (Fastify inject, a real database): off without
// ADMIN_TOKEN, the sign-in form compares the token and sets a signed HttpOnly,
// SameSite=Strict cookie (never the token), pages without it redirect to sign-in,
// POSTs without it get 401, and POSTs without the session's CSRF token get 403.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/cli/env.ts';
import { connect, type Db } from '../src/db/connect.ts';
import { buildServer, type Server } from '../src/http/server.ts';
import { createLogger } from '../src/logger.ts';
import { devAdminToken, sessionCookie, sessionKeys } from '../src/admin/http/session.ts';
import { formRequest, signInAdmin, submitLogin } from './support/admin.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { config as productConfig } from './support/mailroom.ts';

const TOKEN = 'test-admin-token-0123456789abcdef';
const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

let database: TestDatabase;
let db: Db;
let server: Server;

beforeAll(async () => {
  database = await createTestDatabase();
  db = connect(database.url, { max: 2, applicationName: 'mailroom-test-admin' });
  // Many sign-ins from one address: the rate limit is test/http.behind-a-proxy.test.ts's subject, not this file's.
  server = buildServer({ config: productConfig, db, logger, adminToken: TOKEN, adminLoginRateLimit: 1_000 });
});
afterAll(async () => {
  await server?.close();
  await db?.close();
  await database?.drop();
});

const form = formRequest;
const signIn = () => signInAdmin(server, TOKEN);

describe('ADMIN_TOKEN', () => {
  it('is checked at start-up: at least 24 characters, the error names the variable', () => {
    expect(() => loadConfig({ ADMIN_TOKEN: 'short' })).toThrow(/^ADMIN_TOKEN must be at least 24 characters/);
    expect(() => loadConfig({ ADMIN_TOKEN: 'has a space but is long enough to pass' })).toThrow(/^ADMIN_TOKEN must not contain spaces/);
    expect(loadConfig({ ADMIN_TOKEN: TOKEN }).ADMIN_TOKEN).toBe(TOKEN);
    // The value is a secret: never echoed in the message.
    expect(() => loadConfig({ ADMIN_TOKEN: 'short' })).not.toThrow(/short/);
  });

  it('in `mailroom dev`, unset: a random one, long enough for the schema (devAdminToken)', () => {
    const made = devAdminToken(undefined);
    expect(made.generated).toBe(true);
    expect(loadConfig({ ADMIN_TOKEN: made.token }).ADMIN_TOKEN).toBe(made.token);
    expect(devAdminToken(undefined).token).not.toBe(made.token);
    expect(devAdminToken(TOKEN)).toEqual({ token: TOKEN, generated: false });
  });

  it('unset: every /admin URL answers 404 saying the pages are off', async () => {
    const off = buildServer({ config: productConfig, db, logger });
    try {
      for (const [method, url] of [['GET', '/admin'], ['GET', '/admin/outbox'], ['POST', '/admin/login']] as const) {
        const response = await off.inject({ method, url });
        expect(response.statusCode, `${method} ${url}`).toBe(404);
        expect(response.body).toContain('set ADMIN_TOKEN');
      }
    } finally {
      await off.close();
    }
  });
});

describe('signing in', () => {
  it('sends a GET without a session to the sign-in form, remembering where it was going', async () => {
    const response = await server.inject({ method: 'GET', url: '/admin/outbox?status=failed' });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe(`/admin/login?next=${encodeURIComponent('/admin/outbox?status=failed')}`);
    const login = await server.inject({ method: 'GET', url: response.headers.location as string });
    expect(login.statusCode).toBe(200);
    expect(login.body).toContain('name="token"');
  });

  it('refuses a wrong token with 401 and no session cookie', async () => {
    for (const token of ['wrong', `${TOKEN}x`, '', TOKEN.slice(0, -1)]) {
      const response = await submitLogin(server, { token });
      expect(response.statusCode).toBe(401);
      expect(String(response.headers['set-cookie'])).not.toContain('mailroom_admin=');
      expect(response.body).toContain('Wrong token');
    }
  });

  it('refuses a sign-in POST without the form\'s CSRF token (403), even with the right token', async () => {
    const bare = await server.inject({ method: 'POST', url: '/admin/login', ...form({ token: TOKEN }) });
    expect(bare.statusCode).toBe(403);
    expect(String(bare.headers['set-cookie'])).not.toContain('mailroom_admin=');
    // A CSRF token from another form's nonce does not fit this nonce.
    const one = await server.inject({ method: 'GET', url: '/admin/login' });
    const two = await server.inject({ method: 'GET', url: '/admin/login' });
    const csrfOfTwo = /name="_csrf" value="([^"]+)"/.exec(two.body)![1]!;
    const nonceOfOne = String(one.headers['set-cookie']).split(';')[0]!;
    expect(String(one.headers['set-cookie'])).toMatch(/^mailroom_admin_login=[\w-]+; Path=\/admin\/login; Max-Age=3600; HttpOnly; SameSite=Strict$/);
    const mixed = await server.inject({ method: 'POST', url: '/admin/login', ...form({ token: TOKEN, _csrf: csrfOfTwo }, nonceOfOne) });
    expect(mixed.statusCode).toBe(403);
    expect(String(mixed.headers['set-cookie'])).not.toContain('mailroom_admin=');
  });

  it('sets an HttpOnly, SameSite=Strict cookie holding a signed session, not the token', async () => {
    const response = await submitLogin(server, { token: TOKEN, next: '/admin/outbox' });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/admin/outbox');
    const [session, loginNonce] = response.headers['set-cookie'] as string[];
    expect(session).toMatch(/^mailroom_admin=v1\.\d+\.[\w-]+\.[\w-]+; Path=\/admin; Max-Age=\d+; HttpOnly; SameSite=Strict$/);
    expect(session).not.toContain(TOKEN);
    expect(session).not.toContain('Secure'); // plain http here; https requests get Secure
    expect(loginNonce).toMatch(/^mailroom_admin_login=; Path=\/admin\/login; Max-Age=0/); // the form's nonce is spent
  });

  it('marks the cookie Secure for https requests (the rule the plugin applies to request.protocol)', () => {
    expect(sessionCookie('v', { secure: true, path: '/admin' })).toContain('; Secure');
    expect(sessionCookie('v', { secure: false, path: '/admin' })).not.toContain('Secure');
  });

  it('goes only to admin pages after signing in: an outside `next` goes to the overview', async () => {
    for (const next of ['https://evil.example/', '//evil.example/admin', '/\\evil.example', '/adminx', 'javascript:alert(1)']) {
      const response = await submitLogin(server, { token: TOKEN, next });
      expect(response.headers.location, next).toBe('/admin');
    }
  });

  it('refuses a forged, tampered or expired session', async () => {
    const keys = sessionKeys(TOKEN);
    const good = keys.issue();
    const tampered = good.replace(/\.(\d+)\./, (_, exp) => `.${Number(exp) + 1000}.`);
    const expired = keys.issue(Date.now() - 13 * 3600_000);
    const otherToken = sessionKeys(`${TOKEN}-rotated`).issue();
    expect(keys.verify(good)).toBe(true);
    for (const value of [tampered, expired, otherToken, TOKEN, 'v1.1.2.3']) {
      expect(keys.verify(value), value).toBe(false);
      const response = await server.inject({ method: 'GET', url: '/admin', headers: { cookie: `mailroom_admin=${value}` } });
      expect(response.statusCode).toBe(303);
    }
  });
});

describe('POSTs', () => {
  const id = '00000000-0000-4000-8000-000000000000';

  it('without a session: 401', async () => {
    for (const url of [`/admin/outbox/${id}/replay`, `/admin/outbox/${id}/cancel`, '/admin/outbox/bulk', '/admin/logout']) {
      const response = await server.inject({ method: 'POST', url, ...form({ _csrf: 'x' }) });
      expect(response.statusCode, url).toBe(401);
    }
  });

  it('with a session but no or a wrong CSRF token: 403, nothing done', async () => {
    const { cookie, csrf } = await signIn();
    await server.inject({
      method: 'POST',
      url: '/admin/suppression/add',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'address=nocsrf%40example.test',
    }).then((r) => expect(r.statusCode).toBe(403));
    // Another session's token does not fit this one.
    const other = await signIn();
    expect(other.csrf).not.toBe(csrf);
    const wrong = await server.inject({
      method: 'POST',
      url: '/admin/suppression/add',
      ...form({ address: 'nocsrf@example.test', _csrf: other.csrf }, cookie),
    });
    expect(wrong.statusCode).toBe(403);
    const { rows } = await db.pool.query(`select * from mailroom.suppression where address = 'nocsrf@example.test'`);
    expect(rows).toEqual([]);

    // With it, the same POST works.
    const right = await server.inject({
      method: 'POST',
      url: '/admin/suppression/add',
      ...form({ address: 'nocsrf@example.test', _csrf: csrf }, cookie),
    });
    expect(right.statusCode).toBe(303);
    expect((await db.pool.query(`select * from mailroom.suppression where address = 'nocsrf@example.test'`)).rows).toHaveLength(1);
  });

  it('sign out clears the cookie', async () => {
    const { cookie, csrf } = await signIn();
    const response = await server.inject({ method: 'POST', url: '/admin/logout', ...form({ _csrf: csrf }, cookie) });
    expect(response.statusCode).toBe(303);
    expect(String(response.headers['set-cookie'])).toMatch(/^mailroom_admin=; Path=\/admin; Max-Age=0; HttpOnly; SameSite=Strict/);
  });
});

describe('every admin response', () => {
  it('carries a CSP without script, no framing, no caching', async () => {
    const { cookie } = await signIn();
    for (const url of ['/admin/login', '/admin', '/admin/outbox', '/admin/suppression']) {
      const response = await server.inject({ method: 'GET', url, headers: { cookie } });
      expect(response.statusCode, url).toBe(200);
      const csp = String(response.headers['content-security-policy']);
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain('script-src');
      expect(csp).toContain("frame-ancestors 'none'");
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.body).not.toContain('<script');
    }
  });
});
