// The public way to send an email: write it into the outbox inside the caller's
// transaction. One INSERT; no NOTIFY (it would serialise every commit in the
// cluster, see DESIGN.md); the relay finds the row by polling.
import { namedStatement } from '../db/named-statement.ts';
import type { z } from 'zod';
import { countEnqueued } from '../metrics/enqueued-counter.ts';
import type { Catalogue } from '../templates/catalogue.ts';
import type { Templates } from '../templates/define.ts';
import { currentTraceparent } from '../tracing/trace-context.ts';
import { run, type Executor } from './executor.ts';
import { validateEnqueue, type EnqueueRequest } from './validate.ts';

export interface EnqueueEmail<T extends Templates = Templates, N extends keyof T & string = keyof T & string> {
  template: N;
  /** One address. Use one enqueue per recipient. */
  to: string;
  props: z.input<T[N]['schema']>;
  /** The same key twice yields one email; the second call returns the first id. */
  idempotencyKey?: string;
  /** Not before this time (default: now). */
  sendAfter?: Date;
  /** Never after this time, e.g. the token's expiry; past it the row ends `expired`. Default: now + the template's ttl. */
  notAfter?: Date;
  /** -100..100, higher first. Default: the template's priority. */
  priority?: number;
  /** A language tag like `fr` or `pt-BR`, handed to the template's subject and component. */
  locale?: string;
  /** Where replies go, `Name <address>` or an address: over the template's envelope.replyTo. */
  replyTo?: string;
  /** Tags for the provider (up to 10 of a-z0-9_.-), added to the template's envelope.tags. */
  tags?: readonly string[];
  /**
   * W3C traceparent of the work that asked for this email; the worker's send span
   * continues it. Default: the active OpenTelemetry context, if the app traces.
   */
  traceparent?: string;
}

/** One email of any of the config's templates (what enqueueMany() takes). */
export type AnyEmail<T extends Templates> = { [N in keyof T & string]: EnqueueEmail<T, N> }[keyof T & string];

const INSERT = `
  insert into mailroom.outbox as o
    (template, recipient, props, idempotency_key, send_after, not_after, priority, max_attempts, locale, traceparent, reply_to, tags)
  select t.name, $2, $3::jsonb, $4, coalesce($5::timestamptz, now()),
         coalesce($6::timestamptz, now() + t.ttl), coalesce($7::int, t.priority), t.max_attempts, $8, $9, btrim($10, ' '), nullif($11::text[], '{}')
    from mailroom.template t where t.name = $1
  on conflict (idempotency_key) do nothing
  returning o.id`;

// The INSERT's name as a prepared statement on node-postgres (executor.ts run()):
// planned once per connection instead of every call. The hash keeps two versions
// of the text from ever sharing a name.
const INSERT_NAME = namedStatement('enqueue', INSERT).name;

// Only when the key was taken. A separate statement: the INSERT's snapshot may
// predate the commit of the row it collided with.
const BY_KEY = `select id from mailroom.outbox where idempotency_key = $1`;

/**
 * Enqueue an email in the caller's transaction and return its outbox id.
 * Throws ValidationError (naming the field) before writing anything.
 */
export async function enqueueEmail(
  catalogue: Catalogue,
  executor: Executor,
  email: EnqueueEmail,
  options: { preparedStatements?: boolean } = {},
): Promise<string> {
  const request = email as EnqueueRequest;
  const { propsJson } = validateEnqueue(catalogue, request);
  const params = [
    request.template,
    request.to,
    propsJson,
    request.idempotencyKey ?? null,
    request.sendAfter ?? null,
    request.notAfter ?? null,
    request.priority ?? null,
    request.locale ?? null,
    request.traceparent ?? currentTraceparent(),
    request.replyTo ?? null,
    request.tags ?? null,
  ];
  const inserted = await run(executor, INSERT, params, options.preparedStatements === false ? undefined : INSERT_NAME);
  if (inserted[0]) {
    countEnqueued(request.template);
    return inserted[0].id;
  }
  // Nothing inserted: the key was taken (return that row), or the template row is
  // missing because the database was not migrated with this code's catalogue.
  if (request.idempotencyKey != null) {
    const existing = await run(executor, BY_KEY, [request.idempotencyKey]);
    if (existing[0]) return existing[0].id;
  }
  throw notMigrated(request.template);
}

export function notMigrated(template: string): Error {
  return new Error(`template "${template}" is not in mailroom.template: run \`mailroom migrate\` with this config`);
}
