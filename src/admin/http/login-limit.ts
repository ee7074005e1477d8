// A fixed-window counter per client address, in memory, for admin sign-in: enough to
// make guessing ADMIN_TOKEN slow for one process (a token of 24+ random characters
// is out of reach anyway; this keeps the log and the CPU quiet). Each process counts
// alone; behind a proxy the address is the client's only with TRUST_PROXY.
//
// Memory is bounded: the whole table is dropped when the window turns, and within a
// window at most `maxAddresses` addresses get a counter of their own; past that,
// newcomers share one, so a flood of addresses is limited together rather than let through.
import { isIPv6 } from 'node:net';

export interface LoginLimiter {
  /** Count one attempt from this address: allowed, or refused with the seconds until the window turns. */
  take(address: string, now?: number): { allowed: true } | { allowed: false; retryAfterSeconds: number };
}

const OVERFLOW = '(too many addresses)';

/**
 * The key of an address: an IPv6 client usually holds a whole /64, so it counts as
 * one (the first four groups); an IPv4-mapped IPv6 address counts as its IPv4 address.
 */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const front = head ? head.split(':') : [];
  const back = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back] : front;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export function loginLimiter(options: { max: number; windowMs?: number; maxAddresses?: number }): LoginLimiter {
  const { max, windowMs = 60_000, maxAddresses = 10_000 } = options;
  if (!Number.isInteger(max) || max < 1) throw new RangeError('admin sign-in rate limit must be a positive integer (attempts per address a minute)');
  let window = -1;
  const counts = new Map<string, number>();
  return {
    take(address, now = Date.now()) {
      const current = Math.floor(now / windowMs);
      if (current !== window) {
        window = current;
        counts.clear();
      }
      let key = clientKey(address);
      if (!counts.has(key) && counts.size >= maxAddresses) key = OVERFLOW;
      const count = (counts.get(key) ?? 0) + 1;
      counts.set(key, count);
      if (count <= max) return { allowed: true };
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(((current + 1) * windowMs - now) / 1000)) };
    },
  };
}
