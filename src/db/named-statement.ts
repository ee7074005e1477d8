// A statement the worker runs on every batch, as a named prepared statement on
// node-postgres: PostgreSQL plans it once per connection instead of on every call.
// Planning is what a one-row batch paid most for: the mark's plan inlines
// mailroom.normalize_address (migrations/0008) with its case-folding tables: 3.4 ms
// of planning against 0.8 ms of execution (docs/performance.md). enqueue's INSERT is
// named the same way. The hash keeps two versions of a text from ever sharing a name
// on one connection.
import { createHash } from 'node:crypto';

export interface NamedStatement {
  name: string;
  text: string;
}

export function namedStatement(label: string, text: string): NamedStatement {
  return { name: `mailroom_${label}_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`, text };
}
