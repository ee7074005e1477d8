// `mailroom opt-out add|remove|list`: the opt-outs of non-essential email by hand
// (the one-click link and provider unsub events add the others). src/unsubscribe/.
import { ValidationError } from '../../errors.ts';
import { CATEGORY } from '../../unsubscribe/category.ts';
import { addOptOut, listOptOuts, removeOptOut } from '../../unsubscribe/opt-outs.ts';
import { printable } from '../terminal.ts';
import { withDb } from './outbox.ts';
import { checkAddress } from './suppress.ts';

function checkCategory(category: string | undefined, flag = '--category'): string {
  if (category === undefined || !CATEGORY.test(category)) throw new ValidationError(flag, 'must name a category: 1-63 of a-z, 0-9 and - (as a template declares it)');
  return category;
}

export async function optOutAddCommand(address: string, flags: { category?: string }): Promise<void> {
  const checked = checkAddress(address);
  const category = checkCategory(flags.category);
  await withDb(async (db) => {
    const added = await addOptOut(db.pool, checked, category, 'cli');
    process.stdout.write(added ? `${printable(checked)} opted out of ${category}\n` : `${printable(checked)} had already opted out of ${category}\n`);
  });
}

export async function optOutRemoveCommand(address: string, flags: { category?: string }): Promise<void> {
  const checked = checkAddress(address);
  const category = flags.category === undefined ? undefined : checkCategory(flags.category);
  await withDb(async (db) => {
    const removed = await removeOptOut(db.pool, checked, category);
    if (removed === 0) throw new ValidationError('address', `${printable(checked)} has no opt-out${category ? ` of ${category}` : ''}`);
    process.stdout.write(`removed ${removed} opt-out${removed === 1 ? '' : 's'} of ${printable(checked)}\n`);
  });
}

export async function optOutListCommand(flags: { address?: string; json?: boolean }): Promise<void> {
  const address = flags.address === undefined ? undefined : checkAddress(flags.address);
  await withDb(async (db) => {
    const rows = await listOptOuts(db.pool, address ? { address } : {});
    if (flags.json) return void process.stdout.write(`${JSON.stringify(rows)}\n`);
    if (rows.length === 0) return void process.stdout.write('no opt-outs\n');
    for (const r of rows) process.stdout.write(`${printable(r.address)}  ${r.category}  (${r.source}, ${new Date(r.created_at).toISOString()})\n`);
  });
}
