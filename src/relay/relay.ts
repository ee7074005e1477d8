// The relay loop: poll for due rows, hand them to pg-boss, wake the local sender.
// It goes again at once while batches come back full. Otherwise each poll first
// asks whether anything is due (ANY_DUE: one read of outbox_due_idx, one statement,
// no transaction) and opens the claim transaction (BEGIN, claim, COMMIT: three
// round trips) only when something is. While mail is flowing (a claim found rows
// within the last second) it polls every busyPollMs (2 ms), so an email waits about
// a millisecond for the relay, and no NOTIFY is needed in the producer's commit;
// otherwise every RELAY_POLL_MS, so an idle system costs one indexed query per poll.
//
// At the RELAY_MAX_QUEUED cap the claim finds little room, and counting the rows in
// flight is most of its cost (2 ms a claim at 2,000 in flight, measured: most of
// the relay's PostgreSQL time per email when it claimed a few rows every 10 ms).
// So a relay that found the queue full waits for room worth a claim: until this
// process's senders have settled `min(batchSize, maxQueued / 4)` rows (released())
// or four polls have passed (the senders of other processes free room too; a full
// queue holds seconds of work, so 200 ms by default is no wait for anyone).
import type pg from 'pg';
import type { SendQueue } from '../queue/send-queue.ts';
import type { Logger } from 'pino';
import { ANY_DUE, claimDueRows } from './claim.ts';

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
  /** Called after each commit that queued rows: the in-process hand-off. */
  onQueued: (count: number) => void;
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
      try {
        // A full batch means more is due: claim again at once. Otherwise ask first.
        if (!batchWasFull && !(await options.pool.query<{ due: boolean }>(ANY_DUE)).rows[0]?.due) {
          lastClaimAt = Date.now();
          failures = 0;
          if (!stopping) await sleep(Date.now() - lastFoundAt < 1_000 ? busyPollMs : options.pollMs);
          continue;
        }
        // A connection lost mid-claim (a PostgreSQL restart) is heard by the pool's
        // own listener (src/db/connect.ts); here a failed claim only hands its client
        // back as broken, so the pool replaces it instead of reusing it.
        const client = await options.pool.connect();
        let failed: Error | undefined;
        try {
          const result = await claimDueRows(client, options.queue, {
            batchSize: options.batchSize,
            jobTimeoutSeconds: options.jobTimeoutSeconds,
            maxQueued: options.maxQueued,
          });
          claimed = result.claimed.length;
          batchWasFull = claimed === options.batchSize;
          full = result.room < options.batchSize && claimed >= result.room;
          freed = 0;
        } catch (error) {
          failed = error as Error;
          throw error;
        } finally {
          client.release(failed);
        }
        lastClaimAt = Date.now();
        failures = 0;
        if (claimed > 0) {
          lastFoundAt = lastClaimAt;
          options.onQueued(claimed);
        }
      } catch (error) {
        failures += 1;
        batchWasFull = false;
        options.logger.error({ err: error }, 'relay: claim failed; backing off');
        await sleep(Math.min(30_000, 250 * 2 ** Math.min(failures, 7)));
        continue;
      }
      if (claimed < options.batchSize && !stopping) {
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
      if (full && freed >= roomWorthAClaim) wakeSleep?.();
    },
    lastClaimAt: () => lastClaimAt,
  };
}
