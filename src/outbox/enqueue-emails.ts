// Many emails in one INSERT, inside the caller's transaction: a fan-out (a new-media
// alert to every member of a circle) costs one round trip, not one per recipient.
// Same rules as enqueueEmail(): every email is validated before anything is written,
// and an idempotency key already taken yields the existing row's id.
import { ValidationError } from '../errors.ts';
import { countEnqueued } from '../metrics/enqueued-counter.ts';
import type { Catalogue } from '../templates/catalogue.ts';
import { currentTraceparent } from '../tracing/trace-context.ts';
import { notMigrated, type EnqueueEmail } from './enqueue-email.ts';
import { run, type Executor } from './executor.ts';
import { uuidV7 } from './uuid-v7.ts';
import { validateEnqueue, type EnqueueRequest } from './validate.ts';

// The ids are chosen here so each returned id can be matched to its input; a row
// that collided on its key is then looked up by key.
const INSERT_MANY = `
  insert into mailroom.outbox as o
    (id, template, recipient, props, idempotency_key, send_after, not_after, priority, max_attempts, locale, traceparent, reply_to, tags)
  select e.id, t.name, e.recipient, e.props, e.idempotency_key, coalesce(e.send_after, now()),
         coalesce(e.not_after, now() + t.ttl), coalesce(e.priority, t.priority), t.max_attempts, e.locale, e.traceparent,
         btrim(e.reply_to, ' '), nullif(array(select jsonb_array_elements_text(e.tags)), '{}')
    from unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::int[], $9::text[], $10::text[],
                $11::text[], $12::jsonb[])
           with ordinality as e(id, template, recipient, props, idempotency_key, send_after, not_after, priority, locale, traceparent, reply_to, tags, n)
    join mailroom.template t on t.name = e.template
   order by e.n
  on conflict (idempotency_key) do nothing
  returning o.id`;

const BY_KEYS = `select id, idempotency_key from mailroom.outbox where idempotency_key = any($1::text[])`;

/**
 * Enqueue several emails with one INSERT; returns their outbox ids in input order.
 * Throws ValidationError (field prefixed with the email's index, e.g. `1.to`) before writing anything.
 */
export async function enqueueEmails(catalogue: Catalogue, executor: Executor, emails: readonly EnqueueEmail[]): Promise<string[]> {
  if (emails.length === 0) return [];
  const requests = emails as readonly EnqueueRequest[];
  const propsJson = requests.map((request, i) => {
    try {
      return validateEnqueue(catalogue, request).propsJson;
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      throw new ValidationError(`${i}.${error.field}`, error.message.slice(error.field.length + 2));
    }
  });
  const ids = requests.map(() => uuidV7());
  const active = currentTraceparent();
  const column = <K extends keyof EnqueueRequest>(key: K) => requests.map((r) => r[key] ?? null);
  const inserted = await run(executor, INSERT_MANY, [
    ids,
    column('template'),
    column('to'),
    propsJson,
    column('idempotencyKey'),
    column('sendAfter'),
    column('notAfter'),
    column('priority'),
    column('locale'),
    // As enqueueEmail(): the caller's trace, so each send span continues it.
    requests.map((r) => r.traceparent ?? active),
    column('replyTo'),
    // A list per row: unnest() would flatten a text[][], so each goes as a JSON array.
    requests.map((r) => (r.tags == null ? null : JSON.stringify(r.tags))),
  ]);
  const written = new Set(inserted.map((row) => row.id));
  for (const [i, request] of requests.entries()) {
    if (written.has(ids[i]!)) countEnqueued(request.template);
  }
  if (inserted.length === ids.length) return ids;

  const keys = requests.filter((r, i) => !written.has(ids[i]!) && r.idempotencyKey != null).map((r) => r.idempotencyKey!);
  const existing = new Map(
    (await run<{ id: string; idempotency_key: string }>(executor, BY_KEYS, [keys])).map((row) => [row.idempotency_key, row.id]),
  );
  return requests.map((request, i) => {
    if (written.has(ids[i]!)) return ids[i]!;
    const id = request.idempotencyKey != null ? existing.get(request.idempotencyKey) : undefined;
    if (id) return id;
    throw notMigrated(request.template);
  });
}
