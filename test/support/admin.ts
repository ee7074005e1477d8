// An admin session over Fastify's inject, for tests of the admin pages without a
// browser: fetch the sign-in form, sign in with the token, read the CSRF token from
// a page, then GET and POST forms as that session.
import type { LightMyRequestResponse } from 'fastify';
import type { Server } from '../../src/http/server.ts';

export interface AdminSession {
  /** `mailroom_admin=<value>`, for a Cookie header. */
  cookie: string;
  csrf: string;
  get(url: string): Promise<LightMyRequestResponse>;
  /** POST a form; the session's CSRF token is added unless `fields` sets `_csrf` (or `csrf: false`). */
  post(url: string, fields?: Record<string, string>, options?: { csrf?: boolean }): Promise<LightMyRequestResponse>;
}

/** The `inject` options of a urlencoded form POST, with an optional Cookie header. */
export function formRequest(fields: Record<string, string>, cookie?: string) {
  return {
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
    payload: new URLSearchParams(fields).toString(),
  };
}

const firstCookie = (header: string | string[] | number | undefined) => String(Array.isArray(header) ? header[0] : header).split(';')[0]!;

/** POST the sign-in form as a browser would: GET it first for its nonce cookie and CSRF token. */
export async function submitLogin(server: Server, fields: Record<string, string>): Promise<LightMyRequestResponse> {
  const form = await server.inject({ method: 'GET', url: '/admin/login' });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
  return server.inject({ method: 'POST', url: '/admin/login', ...formRequest({ _csrf: csrf, ...fields }, firstCookie(form.headers['set-cookie'])) });
}

export async function signInAdmin(server: Server, token: string): Promise<AdminSession> {
  const login = await submitLogin(server, { token, next: '/admin' });
  if (login.statusCode !== 303) throw new Error(`sign-in answered ${login.statusCode}: ${login.body}`);
  const cookie = firstCookie(login.headers['set-cookie']);
  const page = await server.inject({ method: 'GET', url: '/admin/outbox', headers: { cookie } });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  if (!csrf) throw new Error('no CSRF token on /admin/outbox');
  return {
    cookie,
    csrf,
    get: (url) => server.inject({ method: 'GET', url, headers: { cookie } }),
    post: (url, fields = {}, options = {}) =>
      server.inject({ method: 'POST', url, ...formRequest(options.csrf === false ? fields : { _csrf: csrf, ...fields }, cookie) }),
  };
}
