// The relay loop: poll for due rows, hand them to this process's idle senders or to
// pg-boss. It goes again at once while batches come back full. Otherwise each poll
// first asks whether anything is due (ANY_DUE: one read of outbox_due_idx, one
// statement, no transaction) and claims only when something is. While mail is
// flowing (a claim found rows within the last second) it polls every busyPollMs
// (2 ms), so an email waits about a millisecond for the relay, and no NOTIFY is
// needed in the producer's commit; otherwise every RELAY_POLL_MS, so an idle system
// costs one indexed query per poll.
//
// Counting the rows in flight (for RELAY_MAX_QUEUED) is most of a claim's cost: the
// count steps over every dead index entry of rows that left the in-flight set since
// the last vacuum (10-20 ms a claim measured with autovacuum off). So the relay
// counts at most once a second, and in between claims into the room it works out
// itself: the last count, plus what it claimed since, less what this process's
// senders settled since (released()). Another process's relay claiming in that
// second can push the total past the cap until the next count; the cap is for
// keeping priority order and leases, not a hard limit.
//
// The in-process hand-off: when this process's senders have room (LocalSenders),
// the relay reserves that room, claims that much and gives it to them itself, so
// those rows go from the claim to the send without a pg-boss job: no insert, fetch,
// completion or wake-up. Such a claim is one statement, no transaction; the rows'
// lease is the backstop should this process die (the sweeper). When no permit can
// hold a row back (no rate limit in play, the transport not paused) the claim marks
// the rows for sending too, and, while mail flows and the room is known, the relay
// claims without the probe first (an empty claim then costs what the probe does). A
// claim that filled the local room is followed at once by a probe and, if more is
// due, the next claim, which, with the senders busy, publishes for any process's
// consumers through pg-boss (onQueued).
//
// A relay that found the queue full waits for room worth a claim: until this
// process's senders have settled `min(batchSize, maxQueued / 4)` rows or four polls
// have passed (the senders of other processes free room too; a full queue holds
// seconds of work, so 200 ms by default is no wait for anyone).
import type pg from 'pg';
import type { SendQueue } from '../queue/send-queue.ts';
import type { Logger } from 'pino';
import type { MarkedRow, MarkRules } from '../worker/batch-sql.ts';
import { ANY_DUE_STATEMENT, claimDueRows, claimForSenders, type ClaimedRow } from './claim.ts';

/** How often, at most, a relay counts the rows in flight instead of reckoning them. */
export const COUNT_EVERY_MS = 1_000;

export interface RelayOptions {
  /** A pool from connect() (src/db/connect.ts), which listens for errors on checked-out clients. */
  pool: pg.Pool;
  queue: SendQueue;
  logger: Logger;
  pollMs: number;
  /** The sleep between claims while mail is flowing (at most pollMs). */
  busyPollMs?: number;
  batchSize: number;
  /** Rows that may wait queued in pg-boss at once (all relays together). */
  maxQueued: number;
  jobTimeoutSeconds: number;
  /** Called after each commit that queued rows for pg-boss's consumers (wake them). */
  onQueued: (count: number) => void;
  /** This process's own senders, which take rows straight from the relay (default: none; all goes through pg-boss). */
  local?: LocalSenders;
}

/** The rows of a claim for this process's senders: marked for sending by the claim, or still queued (permits first). */
export type HeldRows = { marked: MarkedRow[] } | { queued: ClaimedRow[] };

export interface LocalSenders {
  /** Rows the idle senders could take now (nothing is reserved). */
  room(): number;
  /** Reserves idle senders for up to `rows` rows; returns the rows reserved for (0: none idle). */
  reserve(rows: number): number;
  /** How the claim marks rows when no permit can hold them back now; null: a permit may (the rows stay queued). */
  markRules(): Promise<MarkRules | null>;
  /** After each reserve() > 0, once: the rows claimed for it (none when the claim failed); the unused reservation goes back. */
  hand(rows: HeldRows, reservedRows: number): void;
}

export interface Relay {
  /** Resolves once the loop has stopped; no claim transaction is left open. */
  stop(): Promise<void>;
  /** Run a claim now instead of waiting out the poll (e.g. after a wake-up ping). */
  wake(): void;
  /** This process's senders settled `count` rows: room in the queue, if it was full. */
  released(count: number): void;
  lastClaimAt(): number;
}

export function startRelay(options: RelayOptions): Relay {
  let stopping = false;
  let lastClaimAt = Date.now();
  let lastFoundAt = 0;
  const busyPollMs = Math.min(options.busyPollMs ?? 2, options.pollMs);
  let wakeSleep: (() => void) | undefined;
  // The last claim found the queue full; `freed` counts rows settled here since.
  let full = false;
  let freed = 0;
  // Rows in flight as this relay reckons them between counts, and when it last counted.
  let inFlight = 0;
  let countedAt = -Infinity;
  const roomWorthAClaim = Math.max(1, Math.min(options.batchSize, Math.ceil(options.maxQueued / 4)));

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeSleep = undefined;
        resolve();
      }
      wakeSleep = done;
    });

  const loop = (async () => {
    let failures = 0;
    let batchWasFull = false;
    while (!stopping) {
      let claimed = 0;
      let filled = false;
      try {
        // Between counts, a queue this relay reckons full gets neither a probe nor a
        // claim transaction: it waits for its senders (released()) or the next count.
        const knownRoom = Date.now() - countedAt >= COUNT_EVERY_MS ? null : Math.max(0, options.maxQueued - inFlight);
        if (knownRoom === 0) {
          full = true;
          freed = 0;
          batchWasFull = false;
          lastClaimAt = Date.now();
          failures = 0;
          if (!stopping) await sleep(4 * options.pollMs);
          continue;
        }
        const local = options.local;
        // A claim for the local senders marks the rows itself when no permit can hold
        // them back (markRules: cached, no round trip on most polls).
        const localRules = async () => (local && local.room() > 0 ? await local.markRules() : null);
        const flowing = Date.now() - lastFoundAt < 1_000;
        // While mail flows, the room is known and idle local senders would get rows
        // marked by the claim, an empty claim (one statement) costs what the probe does:
        // claim straight away. An idle relay asks the rules only once something is due.
        let rules = flowing && knownRoom !== null ? await localRules() : undefined;
        // A full batch means more is due: claim again at once. Otherwise ask first.
        const claimAtOnce = batchWasFull || (rules !== undefined && rules !== null);
        if (!claimAtOnce && !(await options.pool.query<{ due: boolean }>(ANY_DUE_STATEMENT)).rows[0]?.due) {
          lastClaimAt = Date.now();
          failures = 0;
          if (!stopping) await sleep(flowing ? busyPollMs : options.pollMs);
          continue;
        }
        rules ??= await localRules();
        // A connection lost mid-claim (a PostgreSQL restart) is heard by the pool's
        // own listener (src/db/connect.ts); here a failed claim only hands its client
        // back as broken, so the pool replaces it instead of reusing it.
        const reserved = local ? local.reserve(options.batchSize) : 0;
        let held: HeldRows = rules ? { marked: [] } : { queued: [] };
        let queued = 0;
        try {
          const client = await options.pool.connect();
          let failed: Error | undefined;
          try {
            const limit = reserved > 0 ? Math.min(reserved, options.batchSize) : options.batchSize;
            const claim = { batchSize: limit, maxQueued: options.maxQueued, knownRoom };
            let room: number;
            if (reserved > 0 && rules) {
              const result = await claimForSenders(client, { ...claim, leaseSeconds: options.jobTimeoutSeconds, rules });
              held = { marked: result.marked };
              claimed = result.marked.length;
              room = result.room;
            } else {
              const result = await claimDueRows(client, options.queue, { ...claim, jobTimeoutSeconds: options.jobTimeoutSeconds, forThisProcess: reserved > 0 });
              claimed = result.claimed.length;
              if (reserved > 0) held = { queued: result.claimed };
              else queued = claimed;
              room = result.room;
            }
            if (knownRoom === null) countedAt = Date.now();
            inFlight = options.maxQueued - room + claimed;
            // More may be due: go again at once. Only a full relay batch skips the probe; a
            // claim that filled the local senders' smaller room asks first.
            filled = claimed === limit;
            batchWasFull = claimed === options.batchSize;
            full = room < options.batchSize && claimed >= room;
            freed = 0;
          } catch (error) {
            failed = error as Error;
            throw error;
          } finally {
            client.release(failed);
          }
        } finally {
          // Always, so a failed claim gives its reservation back.
          if (reserved > 0) local!.hand(held, reserved);
        }
        lastClaimAt = Date.now();
        failures = 0;
        if (claimed > 0) {
          lastFoundAt = lastClaimAt;
          if (queued > 0) options.onQueued(queued);
        }
      } catch (error) {
        failures += 1;
        batchWasFull = false;
        options.logger.error({ err: error }, 'relay: claim failed; backing off');
        await sleep(Math.min(30_000, 250 * 2 ** Math.min(failures, 7)));
        continue;
      }
      if (!filled && !stopping) {
        await sleep(full ? 4 * options.pollMs : Date.now() - lastFoundAt < 1_000 ? busyPollMs : options.pollMs);
      }
    }
  })();

  return {
    async stop() {
      stopping = true;
      wakeSleep?.();
      await loop;
    },
    wake() {
      wakeSleep?.();
    },
    released(count) {
      freed += count;
      inFlight = Math.max(0, inFlight - count);
      if (full && freed >= roomWorthAClaim) wakeSleep?.();
    },
    lastClaimAt: () => lastClaimAt,
  };
}
