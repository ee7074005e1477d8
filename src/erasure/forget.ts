// Erasure: one person's address out of every table of the mailroom schema. The work
// is mailroom.forget() in SQL (migrations/0013_erasure.sql), so a team without Node
// erases the same way; this calls it one batch at a time, each call its own short
// statement (autocommit), until it says done, and adds up what each call changed.
// Safe while workers send: a row being sent right now is left, and counted in `left`.
import type pg from 'pg';
import { ValidationError } from '../errors.ts';
import { isValidAddress } from '../outbox/validate.ts';
import { normalizeAddress } from '../suppression/address.ts';

export interface ForgetOptions {
  /** Who or what asked (a ticket, a request id), kept in mailroom.erasure. Never the address. */
  requestedBy?: string | null;
  /** Outbox rows (and provider events) per call. */
  batchSize?: number;
  /** Called after each call that changed something (progress for the CLI). */
  onBatch?: (batch: ForgetResult) => void;
}

export interface ForgetResult {
  /** The mailroom.erasure row of this run; null when nothing held the address. */
  erasure: number | null;
  /** Outbox rows anonymised (recipient, props, idempotency key, the address in last_error). */
  outbox: number;
  /** Of those, rows not sent yet (pending, queued, retrying), cancelled first. */
  cancelled: number;
  /** Attempts of those rows, kept, without the address in their text. */
  attempts: number;
  /** Provider events about the address or its rows, anonymised. */
  events: number;
  /** Entries keyed by the address (the suppression list) deleted. */
  suppressions: number;
  /** Rows of the address still holding it: being sent right now. Run it again once they settle. */
  left: number;
}

export const DEFAULT_FORGET_BATCH_SIZE = 1000;

/** How the errors of checkForget() name the inputs (the CLI names its flags). */
export interface ForgetFieldNames {
  address: string;
  batchSize: string;
  requestedBy: string;
}

const FIELDS: ForgetFieldNames = { address: 'address', batchSize: 'batchSize', requestedBy: 'requestedBy' };

/**
 * The checks mailroom.forget() makes, each a ValidationError naming the input, before
 * any statement runs. The messages never repeat the address.
 */
export function checkForget(address: string | undefined, options: ForgetOptions = {}, fields: ForgetFieldNames = FIELDS): void {
  if (address === undefined || address === '') throw new ValidationError(fields.address, 'is required: the email address to erase');
  if (!isValidAddress(address)) throw new ValidationError(fields.address, 'is not an email address');
  const batchSize = options.batchSize ?? DEFAULT_FORGET_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
    throw new ValidationError(fields.batchSize, `must be an integer from 1 to 100000 (got ${batchSize})`);
  }
  const by = options.requestedBy;
  if (by != null) {
    if (!/^[^\r\n]{1,200}$/.test(by)) throw new ValidationError(fields.requestedBy, 'must be one line of 1 to 200 characters');
    if (normalizeAddress(by).includes(normalizeAddress(address))) {
      throw new ValidationError(fields.requestedBy, 'must not contain the address being erased (say who asked: a ticket, a team)');
    }
  }
}

interface BatchRow {
  erasure_id: string | null;
  outbox_rows: number;
  cancelled_rows: number;
  attempt_rows: number;
  event_rows: number;
  suppression_rows: number;
  rows_left: number;
  done: boolean;
}

const FORGET_BATCH = `select * from mailroom.forget($1, requested_by => $2, batch_size => $3, erasure => $4)`;

/** Erase `address` (compared as the suppression list compares: `Ada@Example.TEST` is `ada@example.test`). */
export async function forget(pool: pg.Pool, address: string, options: ForgetOptions = {}): Promise<ForgetResult> {
  checkForget(address, options);
  const batchSize = options.batchSize ?? DEFAULT_FORGET_BATCH_SIZE;
  const total: ForgetResult = { erasure: null, outbox: 0, cancelled: 0, attempts: 0, events: 0, suppressions: 0, left: 0 };
  for (;;) {
    const { rows } = await pool.query<BatchRow>(FORGET_BATCH, [address, options.requestedBy ?? null, batchSize, total.erasure]);
    const row = rows[0]!;
    const batch: ForgetResult = {
      erasure: row.erasure_id === null ? null : Number(row.erasure_id),
      outbox: row.outbox_rows,
      cancelled: row.cancelled_rows,
      attempts: row.attempt_rows,
      events: row.event_rows,
      suppressions: row.suppression_rows,
      left: row.rows_left,
    };
    total.erasure = batch.erasure;
    total.outbox += batch.outbox;
    total.cancelled += batch.cancelled;
    total.attempts += batch.attempts;
    total.events += batch.events;
    total.suppressions += batch.suppressions;
    total.left = batch.left;
    if (batch.outbox + batch.attempts + batch.events + batch.suppressions > 0) options.onBatch?.(batch);
    if (row.done) return total;
  }
}
