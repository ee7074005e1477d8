// Admin sign-in without server state: the cookie holds an expiry, a nonce and an
// HMAC over both, keyed by a hash of ADMIN_TOKEN (never the token itself). Changing
// ADMIN_TOKEN signs everybody out. The CSRF token of a session is an HMAC of the
// session value, so a form carries proof it was served to this session. The
// sign-in form, before any session, gets the same protection from a short-lived
// random cookie and an HMAC of it in the form (double submit).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'mailroom_admin';
/** Set by GET /admin/login only: the nonce the sign-in form's CSRF token is made from. */
export const LOGIN_COOKIE = 'mailroom_admin_login';
/** Sessions last a working day; then the operator types the token again. */
export const SESSION_TTL_SECONDS = 12 * 3600;

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Does `given` equal the configured token? Compares SHA-256 digests in constant time (any length). */
export function tokenMatches(given: string, token: string): boolean {
  return timingSafeEqual(sha256(given), sha256(token));
}

function equalText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface SessionKeys {
  /** A new session value for the cookie. */
  issue(now?: number): string;
  /** Is this cookie value a session we issued that has not expired? */
  verify(value: string | undefined, now?: number): boolean;
  /** The CSRF token forms of this session carry. */
  csrfFor(session: string): string;
  csrfMatches(session: string, given: string | undefined): boolean;
  /** A nonce for the sign-in form's cookie, and the CSRF token that goes with it. */
  loginNonce(): { nonce: string; csrf: string };
  loginCsrfMatches(nonce: string | undefined, given: string | undefined): boolean;
}

export function sessionKeys(adminToken: string): SessionKeys {
  const key = createHmac('sha256', 'mailroom admin session v1').update(adminToken, 'utf8').digest();
  const mac = (purpose: string, text: string) => createHmac('sha256', key).update(`${purpose}\0${text}`).digest('base64url');
  return {
    issue(now = Date.now()) {
      const body = `v1.${Math.floor(now / 1000) + SESSION_TTL_SECONDS}.${randomBytes(16).toString('base64url')}`;
      return `${body}.${mac('session', body)}`;
    },
    verify(value, now = Date.now()) {
      const match = value ? /^(v1\.(\d{1,12})\.[A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(value) : null;
      if (!match) return false;
      return equalText(mac('session', match[1]!), match[3]!) && Number(match[2]) * 1000 > now;
    },
    csrfFor: (session) => mac('csrf', session),
    csrfMatches: (session, given) => given !== undefined && equalText(mac('csrf', session), given),
    loginNonce() {
      const nonce = randomBytes(16).toString('base64url');
      return { nonce, csrf: mac('login', nonce) };
    },
    loginCsrfMatches: (nonce, given) =>
      nonce !== undefined && given !== undefined && /^[A-Za-z0-9_-]{22}$/.test(nonce) && equalText(mac('login', nonce), given),
  };
}

/** The Cookie header as a map (first value wins, as browsers send the most specific path first). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name && !cookies.has(name)) {
      try {
        cookies.set(name, decodeURIComponent(part.slice(eq + 1).trim()));
      } catch {
        // A malformed value is no session.
      }
    }
  }
  return cookies;
}

/** An HttpOnly, SameSite=Strict cookie (Secure over https); Max-Age 0 clears it. */
export function cookie(name: string, value: string, options: { secure: boolean; path: string; maxAge: number }): string {
  return [
    `${name}=${value}`,
    `Path=${options.path}`,
    `Max-Age=${options.maxAge}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}

export function sessionCookie(value: string, options: { secure: boolean; path: string }): string {
  return cookie(SESSION_COOKIE, value, { ...options, maxAge: SESSION_TTL_SECONDS });
}

export function clearedSessionCookie(options: { secure: boolean; path: string }): string {
  return cookie(SESSION_COOKIE, '', { ...options, maxAge: 0 });
}

/** A token for `mailroom dev` when ADMIN_TOKEN is unset: random, printed in the welcome text. */
export function devAdminToken(configured: string | undefined): { token: string; generated: boolean } {
  return configured ? { token: configured, generated: false } : { token: randomBytes(24).toString('base64url'), generated: true };
}
