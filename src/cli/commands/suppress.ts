// `mailroom suppress add|remove|list`: the manual side of mailroom.suppression.
// Webhooks add hard bounces and complaints; operators add or lift the rest.
import { ValidationError } from '../../errors.ts';
import { isValidAddress } from '../../outbox/validate.ts';
import { addSuppression, listSuppressions, removeSuppression } from '../../suppression/provider-events.ts';
import { printable } from '../terminal.ts';
import { normalizeAddress } from '../../suppression/address.ts';
import { withDb } from './outbox.ts';

/** The address as the suppression list and the opt-outs store it, or a ValidationError naming `address`. */
export function checkAddress(address: string): string {
  if (!isValidAddress(address)) throw new ValidationError('address', `${JSON.stringify(printable(address))} is not an email address`);
  // The form the suppression list stores, so what is printed is what is kept.
  return normalizeAddress(address);
}

export async function suppressAddCommand(address: string, flags: { reason?: string }): Promise<void> {
  const checked = checkAddress(address);
  const reason = flags.reason ?? 'manual';
  if (!/^[^\r\n]{1,200}$/.test(reason)) throw new ValidationError('--reason', 'must be one line of 1 to 200 characters');
  await withDb(async (db) => {
    const added = await addSuppression(db.kysely, checked, reason);
    process.stdout.write(added ? `suppressed ${printable(checked)}\n` : `${printable(checked)} was already suppressed\n`);
  });
}

export async function suppressRemoveCommand(address: string): Promise<void> {
  const checked = checkAddress(address);
  await withDb(async (db) => {
    const removed = await removeSuppression(db.kysely, checked);
    if (!removed) throw new ValidationError('address', `${checked} is not on the suppression list`);
    process.stdout.write(`removed ${printable(checked)} from the suppression list\n`);
  });
}

export async function suppressListCommand(flags: { json?: boolean }): Promise<void> {
  await withDb(async (db) => {
    const rows = await listSuppressions(db.kysely);
    if (flags.json) return void process.stdout.write(`${JSON.stringify(rows)}\n`);
    if (rows.length === 0) return void process.stdout.write('no suppressed addresses\n');
    // Addresses and reasons come from provider webhooks too: printed through printable().
    for (const r of rows) {
      process.stdout.write(`${printable(r.address)}  ${printable(r.reason)}  (${printable(r.source)}, ${new Date(r.created_at).toISOString()})\n`);
    }
  });
}
