// One-click unsubscribe links (RFC 8058). The link names a category and carries a
// token that is the recipient's address and that category, encrypted and
// authenticated with the app's secret (AES-256-GCM): nobody can make one for an
// address they do not own, change its category, or read the address out of a
// URL in a proxy log, and no database row is needed to honour it (the link keeps
// working after its outbox row is purged or erased).
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { normalizeAddress } from '../suppression/address.ts';
import { CATEGORY } from './category.ts';

export interface UnsubscribeSettings {
  /** Where `mailroom serve` answers, e.g. `https://mail.example.com` (http only for localhost): links are `<baseUrl>/unsubscribe/<category>/<token>`. */
  baseUrl: string;
  /** At least 32 characters, the same for the worker (makes links) and the server (reads them). Changing it voids every link sent. */
  secret: string;
}

export const MIN_SECRET_LENGTH = 32;
const VERSION = 'v1';
const LOCAL_HTTP = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?(\/|$)/;

/** RangeError naming `<prefix>.<field>` when the settings cannot make working links. */
export function checkUnsubscribeSettings(settings: UnsubscribeSettings, prefix: string): UnsubscribeSettings {
  if (!settings || typeof settings !== 'object') throw new RangeError(`${prefix} must be { baseUrl, secret }`);
  const { baseUrl, secret } = settings;
  if (typeof baseUrl !== 'string' || !(/^https:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(baseUrl) || LOCAL_HTTP.test(baseUrl))) {
    throw new RangeError(`${prefix}.baseUrl must be an https:// URL without query (http:// only for localhost): mail clients refuse one-click unsubscribe over plain http`);
  }
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) throw new RangeError(`${prefix}.secret must be at least ${MIN_SECRET_LENGTH} characters`);
  return { baseUrl: baseUrl.replace(/\/+$/, ''), secret };
}

const keys = new Map<string, Buffer>();
function keyOf(secret: string): Buffer {
  let key = keys.get(secret);
  if (!key) {
    key = Buffer.from(hkdfSync('sha256', secret, 'mailroom', 'unsubscribe link v1', 32));
    keys.set(secret, key);
  }
  return key;
}

/** The link for `address` in `category`. */
export function unsubscribeUrl(settings: UnsubscribeSettings, address: string, category: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(settings.secret), iv);
  cipher.setAAD(Buffer.from(`${VERSION}:${category}`));
  const sealed = Buffer.concat([cipher.update(normalizeAddress(address), 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${settings.baseUrl}/unsubscribe/${category}/${VERSION}.${Buffer.concat([iv, sealed]).toString('base64url')}`;
}

/** The address a token was made for in `category`; null for a token that was tampered with, made for another category, or with another secret. */
export function readUnsubscribeToken(secret: string, category: string, token: string): string | null {
  if (!CATEGORY.test(category) || typeof token !== 'string' || !token.startsWith(`${VERSION}.`) || token.length > 1000) return null;
  const raw = Buffer.from(token.slice(VERSION.length + 1), 'base64url');
  if (raw.length < 12 + 16 + 3) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyOf(secret), raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(`${VERSION}:${category}`));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
