// Rate limits per transport and per recipient domain, held across every worker
// process in PostgreSQL (token buckets, see migrations/0007_rate_limits.sql).
//
// Before a batch is marked `sending`, each row asks for a permit from its
// transport's bucket and its recipient domain's. Rows without one are not marked,
// not sent and not waited for: they go from `queued` back to `pending` with
// send_after at their turn and last_error saying why ("rate limited (domain
// gmail.com)"); no attempt is counted, and `sending` only ever means a send. After the batch,
// a throttled reply (SMTP 421, HTTP 429) halves that transport's rate for a while,
// and a configuration fault (bad credentials, untrusted certificate) pauses the
// transport for every worker.
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Transport } from '../transports/transport.ts';
import { addressDomain } from '../suppression/address.ts';
import { deferRows, pauseTransport, pausedFor, slowDownTransport, takeSendPermits as takePermits } from './permits-sql.ts';

export interface RateLimits {
  /** Messages per second per transport name (smtp, mailjet, capture). */
  transports: Readonly<Record<string, number>>;
  /** Messages per second per recipient domain, lower-case (keys in another case are lower-cased). */
  domains: Readonly<Record<string, number>>;
  /** A halved rate doubles back over this long. */
  recoveryMs: number;
  /** How long a configuration fault pauses a transport. */
  pauseMs: number;
}

// A transport's pause, as last read: a batch with no rate in play reads it at most
// every PAUSE_READ_EVERY_MS (a round trip less per batch, on the path from commit to
// send). A pause set by another worker takes effect here within that; one set by
// this process at once (learnFromAttempts writes it here too).
const PAUSE_READ_EVERY_MS = 250;
const pauses = new WeakMap<pg.Pool, Map<string, { readAt: number; until: number; reason: string | null }>>();

function pausesOf(pool: pg.Pool) {
  let byKey = pauses.get(pool);
  if (!byKey) pauses.set(pool, (byKey = new Map()));
  return byKey;
}

async function pauseOf(pool: pg.Pool, key: string): Promise<{ waitMs: number; reason: string | null } | null> {
  const now = Date.now();
  let known = pausesOf(pool).get(key);
  if (!known || now - known.readAt >= PAUSE_READ_EVERY_MS) {
    const read = await pausedFor(pool, key);
    known = { readAt: Date.now(), until: read ? Date.now() + read.waitMs : 0, reason: read?.reason ?? null };
    pausesOf(pool).set(key, known);
  }
  return known.until > now ? { waitMs: known.until - now, reason: known.reason } : null;
}

function notePause(pool: pg.Pool, key: string, until: number, reason: string): void {
  pausesOf(pool).set(key, { readAt: Date.now(), until, reason });
}

/** What a permit needs to know of a queued row (the recipient only when domains have rates: needsRecipients). */
export interface PermitRow {
  id: string;
  job_id: string;
  recipient: string;
}

/** Do permits depend on the recipient (a rate per domain)? If not, a batch asks without reading its rows. */
export function needsRecipients(limits: RateLimits): boolean {
  return Object.keys(limits.domains).length > 0;
}

export interface RateLimitOptions {
  pool: pg.Pool;
  limits: RateLimits;
  transport: Transport;
  logger?: Logger;
}

const transportKey = (name: string) => `transport:${name}`;
// The recipient's domain by the rule the suppression list compares by (domains are ASCII: lower-cased).
const domainOf = addressDomain;
const normalisedRates = new WeakMap<Readonly<Record<string, number>>, Map<string, number>>();
/** The configured domain rates keyed by normalised domain (typed options may say Example.COM). */
function domainRates(domains: Readonly<Record<string, number>>): Map<string, number> {
  let rates = normalisedRates.get(domains);
  if (!rates) normalisedRates.set(domains, (rates = new Map(Object.entries(domains).map(([domain, rate]) => [domainOf(domain), rate]))));
  return rates;
}

/**
 * Would every row get its permit now, whatever it is? True when no rate applies to
 * the transport the next send goes through, no domain has a rate, and the transport
 * is not paused (read as takeSendPermits reads it: at most every PAUSE_READ_EVERY_MS).
 * Then a row may be marked `sending` without asking (the relay's claim for this
 * process's senders, src/relay/claim.ts).
 */
export async function permitsAreFree(options: RateLimitOptions): Promise<boolean> {
  const name = options.transport.route?.() ?? options.transport.name;
  if (options.limits.transports[name] !== undefined || needsRecipients(options.limits)) return false;
  return (await pauseOf(options.pool, transportKey(name))) === null;
}

/**
 * The rows that may be sent now, in the order given. The others have been put
 * back to `pending`, due when their bucket will have a permit for them.
 */
export async function takeSendPermits<R extends PermitRow>(options: RateLimitOptions, rows: R[]): Promise<R[]> {
  if (rows.length === 0) return rows;
  const { pool, limits, logger } = options;
  // With failover, the transport the next send would go through.
  const name = options.transport.route?.() ?? options.transport.name;
  const keys = [transportKey(name)];
  const rates: (number | null)[] = [limits.transports[name] ?? null];
  const domainIndex = new Map<string, number>();
  const perDomain = domainRates(limits.domains);
  const asks = rows.map((row) => {
    if (perDomain.size === 0) return { transport: 1, domain: null };
    const domain = domainOf(row.recipient);
    const rate = perDomain.get(domain);
    if (rate === undefined) return { transport: 1, domain: null };
    let index = domainIndex.get(domain);
    if (index === undefined) {
      keys.push(`domain:${domain}`);
      rates.push(rate);
      index = keys.length;
      domainIndex.set(domain, index);
    }
    return { transport: 1, domain: index };
  });

  let answers: { permitted: boolean; waitMs: number; reason: string | null }[];
  if (rates.every((rate) => rate === null)) {
    const pause = await pauseOf(pool, keys[0]!);
    const reason = pause ? `transport ${name} paused: ${pause.reason ?? 'configuration error'}` : null;
    answers = rows.map(() => (pause ? { permitted: false, waitMs: pause.waitMs, reason } : { permitted: true, waitMs: 0, reason: null }));
  } else {
    answers = (await takePermits(pool, { keys, rates }, asks, limits.recoveryMs)).map((a) => ({ permitted: a.permitted, waitMs: a.wait_ms, reason: a.reason }));
  }

  const permitted: R[] = [];
  const deferred: { id: string; jobId: string; waitMs: number; reason: string }[] = [];
  rows.forEach((row, i) => {
    const answer = answers[i]!;
    if (answer.permitted) permitted.push(row);
    else deferred.push({ id: row.id, jobId: row.job_id, waitMs: Math.max(0, answer.waitMs), reason: answer.reason ?? 'rate limited' });
  });
  if (deferred.length > 0) {
    await deferRows(pool, deferred);
    const longest = Math.max(...deferred.map((d) => d.waitMs));
    logger?.info(
      { transport: name, deferred: deferred.length, permitted: permitted.length, longestWaitMs: Math.round(longest), reason: deferred[0]!.reason },
      `rate limit: ${deferred.length} row(s) wait for a permit (up to ${Math.round(longest)} ms)`,
    );
  }
  return permitted;
}

/** What the limiter learns from a recorded try. */
export interface TryOutcome {
  transport: string;
  errorClass: string | null;
  errorMessage: string | null;
}

/**
 * After a batch: a throttled reply slows that transport's bucket (when it has a
 * rate), shared by every worker; a configuration fault (401/403, SMTP 535, an
 * untrusted certificate) pauses the transport for every worker, logged at error
 * level. With a failover list the circuit breaker handles the latter: sending
 * moves to the next transport instead of pausing the whole list.
 */
export async function learnFromAttempts(options: RateLimitOptions, outcomes: TryOutcome[]): Promise<void> {
  const { pool, limits, logger, transport } = options;
  // Advisory: the batch is recorded already, so a failure here is logged, not thrown.
  try {
    const throttled = new Set(outcomes.filter((o) => o.errorClass === 'throttled').map((o) => o.transport));
    for (const name of throttled) {
      if (limits.transports[name] === undefined) continue;
      await slowDownTransport(pool, transportKey(name), limits.recoveryMs);
      logger?.warn({ transport: name }, `rate limit: transport ${name} answered "slow down"; its rate is halved for a while`);
    }
    const fault = outcomes.find((o) => o.errorClass === 'config' && o.transport === transport.name);
    if (fault && !transport.route) {
      const reason = fault.errorMessage ?? 'configuration error';
      const until = await pauseTransport(pool, transportKey(fault.transport), limits.pauseMs, reason);
      // By this clock (the row's time is the database's): how long, not until when.
      notePause(pool, transportKey(fault.transport), Date.now() + limits.pauseMs, reason);
      logger?.error(
        { transport: fault.transport, pausedUntil: until.toISOString(), reason },
        `transport ${fault.transport} paused until ${until.toISOString()} in every worker: ${reason}. Fix the configuration; emails wait and keep their attempts`,
      );
    }
  } catch (error) {
    logger?.warn({ err: error }, 'rate limit: could not record a slow-down or a pause');
  }
}
