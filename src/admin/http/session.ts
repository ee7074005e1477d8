// Admin sign-in without server state: the cookie holds an expiry, a nonce and an
// HMAC over both, keyed by a hash of ADMIN_TOKEN (never the token itself). Changing
// ADMIN_TOKEN signs everybody out. The CSRF token of a session is an HMAC of the
// session value, so a form carries proof it was served to this session.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'mailroom_admin';
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

export function sessionCookie(value: string, options: { secure: boolean; path: string }): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    `Path=${options.path}`,
    `Max-Age=${SESSION_TTL_SECONDS}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}

export function clearedSessionCookie(options: { secure: boolean; path: string }): string {
  return [`${SESSION_COOKIE}=`, `Path=${options.path}`, 'Max-Age=0', 'HttpOnly', 'SameSite=Strict', ...(options.secure ? ['Secure'] : [])].join(
    '; ',
  );
}

/** A token for `mailroom dev` when ADMIN_TOKEN is unset: random, printed in the welcome text. */
export function devAdminToken(configured: string | undefined): { token: string; generated: boolean } {
  return configured ? { token: configured, generated: false } : { token: randomBytes(24).toString('base64url'), generated: true };
}
