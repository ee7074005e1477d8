// Secrets the app hands out or keeps: tokens (32 random bytes, base64url, stored as
// their sha256) and passwords (scrypt, node:crypto, no dependency).
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSecret(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function scryptAsync(password: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, length, options, (error, key) => (error ? reject(error) : resolve(key))));
}

// N = 2^15, r = 8 (32 MiB, OWASP's minimum class); p = 1: about 90 ms on this machine
// kind. Stored with its parameters, so the cost can be raised later without
// breaking existing hashes.
export const DEFAULT_PASSWORD_COST = 15;
const MAXMEM = 64 * 1024 * 1024;

/** scrypt with N = 2^cost. */
export async function hashPassword(password: string, cost = DEFAULT_PASSWORD_COST): Promise<string> {
  const salt = randomBytes(16);
  const params = { N: 2 ** cost, r: 8, p: 1 };
  const key = await scryptAsync(password, salt, 32, { ...params, maxmem: MAXMEM });
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: MAXMEM,
  });
  return timingSafeEqual(actual, expected);
}

let dummy: Promise<string> | undefined;
/** A hash to check against when the account does not exist, so a login takes as long either way. */
export function dummyPasswordHash(): Promise<string> {
  return (dummy ??= hashPassword(newSecret()));
}
