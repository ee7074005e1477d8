// `mailroom forget <address>`: erasure at a person's request. A thin shell over
// src/erasure/forget.ts (mailroom.forget() in SQL, one short batch per call). It
// prints what changed, never the address. Exit 75 (EX_TEMPFAIL) when a row of the
// address was being sent and is left for a later run: a script should run it again.
import { checkForget, forget, type ForgetResult } from '../../erasure/forget.ts';
import { ValidationError } from '../../errors.ts';
import { withDb } from './outbox.ts';

export interface ForgetFlags {
  requestedBy?: string;
  batchSize: string;
  json?: boolean;
}

/** Rows of the address were being sent and still hold it: try again later (sysexits' EX_TEMPFAIL). */
export const EXIT_ROWS_LEFT = 75;

export async function forgetCommand(address: string, flags: ForgetFlags): Promise<void> {
  if (!/^\d{1,6}$/.test(flags.batchSize)) {
    throw new ValidationError('--batch-size', `must be an integer from 1 to 100000 (got "${flags.batchSize}")`);
  }
  const options = { requestedBy: flags.requestedBy ?? null, batchSize: Number(flags.batchSize) };
  checkForget(address, options, { address: 'address', batchSize: '--batch-size', requestedBy: '--requested-by' });
  const result = await withDb((db) => forget(db.pool, address, options));
  process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : describe(result));
  if (result.left > 0) process.exitCode = EXIT_ROWS_LEFT;
}

const rows = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function describe(result: ForgetResult): string {
  const lines: string[] = [];
  const changed = result.outbox + result.attempts + result.events + result.suppressions;
  if (changed === 0) {
    lines.push('nothing to erase: no outbox row, attempt, provider event or suppression entry holds this address (0 rows changed)');
  } else {
    lines.push(
      `erased (mailroom.erasure id ${result.erasure}):`,
      `  outbox rows anonymised:       ${result.outbox}${result.cancelled ? `  (${result.cancelled} not sent yet: cancelled)` : ''}`,
      `  their attempts, anonymised:   ${result.attempts}`,
      `  provider events anonymised:   ${result.events}`,
      `  suppression entries deleted:  ${result.suppressions}`,
    );
  }
  if (result.left > 0) {
    lines.push(
      `${rows(result.left, 'row is', 'rows are')} being sent right now and still hold${result.left === 1 ? 's' : ''} the address` +
        `${result.suppressions === 0 ? ' (its suppression entry, if any, stays until then)' : ''}:` +
        ' run `mailroom forget` again once the send has settled',
    );
  }
  return `${lines.join('\n')}\n`;
}
