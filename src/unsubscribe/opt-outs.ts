// mailroom.opt_out (migration 0016): who unsubscribed from which category. The
// link's POST, a provider's unsub event, the CLI and the admin pages write here;
// the sender reads it when it marks a batch `sending`.
import type pg from 'pg';
import { normalizeAddress } from '../suppression/address.ts';

export type OptOutSource = 'link' | 'provider' | 'admin' | 'cli' | 'sql';

export interface OptOut {
  address: string;
  category: string;
  source: OptOutSource;
  created_at: Date;
}

/** Records an opt-out; false when the address had already opted out of that category. */
export async function addOptOut(db: pg.Pool | pg.PoolClient, address: string, category: string, source: OptOutSource): Promise<boolean> {
  const { rowCount } = await db.query(
    'insert into mailroom.opt_out (address, category, source) values ($1, $2, $3) on conflict do nothing',
    [normalizeAddress(address), category, source],
  );
  return rowCount === 1;
}

/** Lifts opt-outs of an address: one category, or all of them. Returns how many were removed. */
export async function removeOptOut(db: pg.Pool, address: string, category?: string): Promise<number> {
  const { rowCount } = await db.query('delete from mailroom.opt_out where address = $1 and ($2::text is null or category = $2)', [
    normalizeAddress(address),
    category ?? null,
  ]);
  return rowCount ?? 0;
}

export async function isOptedOut(db: pg.Pool, address: string, category: string): Promise<boolean> {
  const { rows } = await db.query('select 1 from mailroom.opt_out where address = $1 and category = $2', [normalizeAddress(address), category]);
  return rows.length > 0;
}

/** Newest first; one address's, or everyone's. */
export async function listOptOuts(db: pg.Pool, options: { address?: string; limit?: number } = {}): Promise<OptOut[]> {
  const { rows } = await db.query<OptOut>(
    'select address, category, source, created_at from mailroom.opt_out where $1::text is null or address = $1 order by created_at desc, address, category limit $2',
    [options.address ? normalizeAddress(options.address) : null, options.limit ?? 1000],
  );
  return rows;
}
