// The sender's two statements. Each covers the whole batch, so a batch of 50
// costs two round trips to PostgreSQL, not a hundred.
import type pg from 'pg';
import type { OutboxStatus } from '../db/types.ts';
import { namedStatement } from '../db/named-statement.ts';

export interface MarkedRow {
  id: string;
  job_id: string;
  status: Extract<OutboxStatus, 'sending' | 'expired' | 'suppressed'>;
  /** Tries counted so far (recorded ones): this try is number attempts + 1. */
  attempts: number;
  /** Throttled and config tries so far (not counted): the backoff grows with them too. */
  uncounted_tries: number;
  max_attempts: number;
  priority: number;
  template: string;
  recipient: string;
  props: Record<string, unknown>;
  locale: string | null;
  created_at: Date;
  traceparent: string | null;
  reply_to: string | null;
  tags: string[] | null;
}

// What becomes of a row taken for sending (marking here, or the relay's claim for
// this process's own senders, src/relay/claim.ts): rows past not_after end
// `expired`, rows to a suppressed address `suppressed`, both without a send. The
// suppression list holds addresses in their normal form (mailroom.normalize_address,
// migrations/0008): one lookup of its primary key per row, in any case, script or
// database locale. With a staging allowlist (`allowedDomains`, a text[] parameter of
// lower-cased domains), a recipient outside it ends `suppressed` too, with that
// reason; and so does a recipient who opted out of the template's category
// (c.category, from templateCategories: the worker's config says which emails are
// non-essential). The fragments read the row as `o`; the verdict is `next_status`.
export const sendVerdict = (allowedDomains: string) => `
           case when o.not_after <= now() then 'expired'
                when exists (select 1 from mailroom.suppression s where s.address = mailroom.normalize_address(o.recipient)) then 'suppressed'
                when ${allowedDomains}::text[] is not null and lower(split_part(o.recipient, '@', 2)) <> all (${allowedDomains}::text[]) then 'outside'
                when c.category is not null and exists (select 1 from mailroom.opt_out x where x.address = mailroom.normalize_address(o.recipient) and x.category = c.category) then 'opted out'
                else 'sending' end`;

/** The join giving each row `o` its template's opt-out category as c.category (templates and categories: text[] parameters). */
export const templateCategories = (templates: string, categories: string) =>
  `left join unnest(${templates}::text[], ${categories}::text[]) as c(template, category) on c.template = o.template`;

/** The columns a mark sets from `batch.next_status` and `batch.category`; a row to send is leased for `leaseSeconds` (an int parameter). */
export const markAssignments = (leaseSeconds: string) => `
         status = case when batch.next_status in ('outside', 'opted out') then 'suppressed' else batch.next_status end,
         -- The sender's lease (the job timeout): the sweeper takes the row back after it.
         lease_expires_at = case when batch.next_status = 'sending' then now() + ${leaseSeconds}::int * interval '1 second' end,
         last_error = case batch.next_status when 'expired' then 'not_after passed before it could be sent'
                                             when 'suppressed' then 'recipient is on the suppression list'
                                             when 'outside' then 'recipient''s domain is not in the staging allowlist (MAIL_ALLOWED_DOMAINS)'
                                             when 'opted out' then 'recipient unsubscribed from ' || batch.category
                                             else o.last_error end,
         updated_at = now()`;

/** What a sender needs of a marked row (MarkedRow). */
export const MARKED_COLUMNS = `o.id, o.job_id, o.status, o.attempts, o.max_attempts, o.priority, o.template, o.recipient, o.props, o.locale, o.created_at, o.traceparent,
            o.reply_to, o.tags,
            (select count(*)::int from mailroom.delivery_attempt a where a.outbox_id = o.id and not a.counted) as uncounted_tries`;

// Only a row still `queued` under this very job becomes `sending`: a row already
// sent, cancelled, or handed to another job since (sweeper, replay) is skipped, so
// the same email is never sent twice by two live workers.
const MARK_SENDING = `
  with batch as (
    select o.id, ${sendVerdict('$3')} as next_status, c.category
      from mailroom.outbox o
      join unnest($1::uuid[], $2::uuid[]) as j(outbox_id, job_id) on o.id = j.outbox_id and o.job_id = j.job_id
      ${templateCategories('$4', '$5')}
     where o.status = 'queued'
       for update of o
  )
  update mailroom.outbox o
     set ${markAssignments('$6')}
    from batch
   where o.id = batch.id
  returning ${MARKED_COLUMNS}`;

// The recipients of a batch's rows still queued under their job, for the rate
// limiter's per-domain permits, asked before any row is marked `sending`.
const QUEUED_RECIPIENTS = `
  select o.id, o.job_id, o.recipient
    from mailroom.outbox o
    join unnest($1::uuid[], $2::uuid[]) as j(outbox_id, job_id) on o.id = j.outbox_id and o.job_id = j.job_id
   where o.status = 'queued'`;

const QUEUED_RECIPIENTS_STATEMENT = namedStatement('queued_recipients', QUEUED_RECIPIENTS);

export async function queuedRecipients(db: pg.Pool, jobs: { outboxId: string; jobId: string }[]): Promise<{ id: string; job_id: string; recipient: string }[]> {
  const { rows } = await db.query<{ id: string; job_id: string; recipient: string }>({
    ...QUEUED_RECIPIENTS_STATEMENT,
    values: [jobs.map((j) => j.outboxId), jobs.map((j) => j.jobId)],
  });
  return rows;
}

export interface MarkRules {
  /** The staging allowlist's domains, lower-cased (null: every domain). */
  allowedDomains: string[] | null;
  /** Template name -> opt-out category, for the non-essential templates. */
  categories: ReadonlyMap<string, string>;
}

const MARK_SENDING_STATEMENT = namedStatement('mark_sending', MARK_SENDING);

export async function markSending(db: pg.Pool, jobs: { outboxId: string; jobId: string }[], rules: MarkRules & { leaseSeconds: number }): Promise<MarkedRow[]> {
  if (jobs.length === 0) return [];
  const { rows } = await db.query<MarkedRow>({
    ...MARK_SENDING_STATEMENT,
    values: [
      jobs.map((j) => j.outboxId),
      jobs.map((j) => j.jobId),
      rules.allowedDomains,
      [...rules.categories.keys()],
      [...rules.categories.values()],
      rules.leaseSeconds,
    ],
  });
  return rows;
}

export interface AttemptResult {
  outboxId: string;
  jobId: string;
  attempt: number;
  transport: string;
  /** `released`: never sent (shutdown); the row goes back to pending and the try is not counted. */
  outcome: 'sent' | 'retry' | 'failed' | 'released';
  nextStatus: 'sent' | 'retrying' | 'failed' | 'pending';
  errorClass: string | null;
  messageId: string | null;
  providerMessageId: string | null;
  responseCode: number | null;
  response: string | null;
  errorMessage: string | null;
  startedAt: Date;
  retryDelayMs: number;
  /** Props to remove from the row once sent: links that carry tokens. */
  scrub: string[];
  /** This try does not use up the budget (throttled, config): recorded with counted = false. */
  uncounted?: boolean;
  /** Where a staging rule redirected it; null: to the row's recipient. */
  sentTo: string | null;
}

// Attempt rows are written whatever happened to the row meanwhile: the try took
// place and the audit trail must say so. The status update, though, only applies
// while this job still owns the row (status `sending`, same job_id); if the
// sweeper took it back, the sweeper's decision stands. A try is counted here, when
// its result is known (migrations/0021): attempts only ever goes up, and a
// released row (never tried) or an uncounted try (throttled, config) leaves it.
const RECORD_RESULTS = `
  with r as (
    select * from unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[],
                         $8::text[], $9::text[], $10::int[], $11::text[], $12::text[], $13::timestamptz[],
                         $14::int[], $15::text[], $16::boolean[], $17::text[])
      as r(outbox_id, job_id, attempt, transport, outcome, next_status, error_class,
           message_id, provider_message_id, response_code, response, error_message, started_at,
           retry_delay_ms, scrub, uncounted, sent_to)
  ), attempts as (
    insert into mailroom.delivery_attempt
      (outbox_id, attempt, transport, outcome, error_class, message_id, provider_message_id,
       response_code, response, error_message, started_at, sent_to, counted)
    select outbox_id, attempt, transport, outcome, error_class, message_id, provider_message_id,
           response_code, response, error_message, started_at, sent_to, not uncounted
      from r where outcome <> 'released'
  )
  update mailroom.outbox o
     set status = r.next_status,
         attempts = o.attempts + (r.outcome <> 'released' and not r.uncounted)::int,
         sent_at = case when r.next_status = 'sent' then now() else o.sent_at end,
         send_after = case when r.next_status = 'retrying' then now() + r.retry_delay_ms * interval '1 millisecond'
                           else o.send_after end,
         job_id = case when r.next_status in ('retrying', 'pending') then null else o.job_id end,
         queued_at = case when r.next_status in ('retrying', 'pending') then null else o.queued_at end,
         lease_expires_at = null,
         last_error = case when r.outcome = 'released' then o.last_error else r.error_message end,
         provider_message_id = coalesce(r.provider_message_id, o.provider_message_id),
         props = case when r.next_status = 'sent' and r.scrub <> '[]'
                      then o.props - array(select jsonb_array_elements_text(r.scrub::jsonb))
                      else o.props end,
         updated_at = now()
    from r
   where o.id = r.outbox_id and o.job_id = r.job_id and o.status = 'sending'`;

const RECORD_RESULTS_STATEMENT = namedStatement('record_results', RECORD_RESULTS);

export async function recordResults(db: pg.Pool, results: AttemptResult[]): Promise<void> {
  if (results.length === 0) return;
  const column = <K extends keyof AttemptResult>(key: K) => results.map((r) => r[key]);
  await db.query({
    ...RECORD_RESULTS_STATEMENT,
    values: [
      column('outboxId'),
      column('jobId'),
      column('attempt'),
      column('transport'),
      column('outcome'),
      column('nextStatus'),
      column('errorClass'),
      column('messageId'),
      column('providerMessageId'),
      column('responseCode'),
      column('response'),
      column('errorMessage'),
      column('startedAt'),
      column('retryDelayMs'),
      results.map((r) => JSON.stringify(r.scrub)),
      results.map((r) => r.uncounted ?? false),
      column('sentTo'),
    ],
  });
}
