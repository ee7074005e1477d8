// One batch of pg-boss jobs: permits -> mark sending -> render -> send -> record.
// Network I/O happens between two short statements, never inside a transaction.
import type pg from 'pg';
import type { Logger } from 'pino';
import { RenderError, SendError } from '../errors.ts';
import type { AttemptObservation, Metrics } from '../metrics/metrics.ts';
import { learnFromAttempts, needsRecipients, takeSendPermits, type RateLimits } from '../ratelimit/permits.ts';
import { inSendSpan, markOutcome } from '../tracing/trace-context.ts';
import type { Catalogue } from '../templates/catalogue.ts';
import { EMPTY_ENVELOPE } from '../templates/envelope.ts';
import { renderEmail } from '../templates/render.ts';
import { messageIdFor, type Transport } from '../transports/transport.ts';
import { markSending, queuedRecipients, recordResults, type AttemptResult, type MarkedRow, type MarkRules } from './batch-sql.ts';
import { retryDelayMs, type RetryPolicy } from './retry-policy.ts';
import { unsubscribeUrl, type UnsubscribeSettings } from '../unsubscribe/link.ts';
import { routeRecipient, suppressOutside, type StagingRules } from './staging.ts';

export interface SenderOptions {
  pool: pg.Pool;
  /** The app's templates: what to render, which props to scrub once sent. */
  catalogue: Catalogue;
  transport: Transport;
  logger: Logger;
  from: string;
  messageIdDomain: string;
  /** FRONTEND_BASE_URL: links in emails are built on it at render time. */
  frontendBaseUrl: string;
  retry: RetryPolicy;
  /** True once shutdown began: rows not yet handed to the transport are released, not sent. */
  isStopping: () => boolean;
  /** Aborted when shutdown gives up waiting: sends still in flight are abandoned. */
  abortSignal: AbortSignal;
  /** Counts each recorded attempt for /metrics. */
  metrics?: Metrics;
  /** RATE_LIMIT_*: rows without a permit wait (pending) instead of being sent; unset: no limits. */
  rateLimits?: RateLimits;
  /** MAIL_REDIRECT_TO / MAIL_ALLOWED_DOMAINS (staging.ts). */
  staging: StagingRules;
  /** Where one-click unsubscribe links point (required by startWorker when a template has `unsubscribe`). */
  unsubscribe: UnsubscribeSettings | null;
  /** How long a row marked `sending` is this sender's (the job timeout); the sweeper takes it back after. */
  leaseSeconds: number;
}

export async function sendBatch(options: SenderOptions, jobs: { outboxId: string; jobId: string }[]): Promise<void> {
  // Permits first: rows over a rate limit (or for a paused transport) go from queued
  // back to pending, due at their turn, without ever being marked sending. The
  // recipients are read only when a domain has a rate.
  const limiter = limiterOf(options);
  let permitted = jobs;
  if (limiter) {
    const asking = needsRecipients(limiter.limits)
      ? await queuedRecipients(options.pool, jobs)
      : jobs.map((job) => ({ id: job.outboxId, job_id: job.jobId, recipient: '' }));
    const allowed = new Set((await takeSendPermits(limiter, asking)).map((row) => row.id));
    permitted = jobs.filter((job) => allowed.has(job.outboxId));
    options.metrics?.deferred(asking.length - allowed.size);
  }
  const rows = await markSending(options.pool, permitted, { ...markRulesOf(options), leaseSeconds: options.leaseSeconds });
  await sendMarked(options, rows);
}

/**
 * Sends the rows marked `sending` (by markSending, or by the relay's claim for this
 * process's senders, which no permit could have held back) and records every try;
 * rows marked `expired` or `suppressed` are only logged.
 */
export async function sendMarked(options: SenderOptions, rows: MarkedRow[]): Promise<void> {
  const toSend = rows.filter((row) => row.status === 'sending');
  for (const row of rows) {
    if (row.status !== 'sending') options.logger.info({ outboxId: row.id, template: row.template, outcome: row.status }, 'not sent');
  }
  const tries = await Promise.all(toSend.map((row) => sendOne(options, row)));
  await recordResults(options.pool, tries.map((t) => t.result));
  // A throttled reply slows the transport's bucket; a configuration fault pauses the transport.
  const limiter = limiterOf(options);
  if (limiter) await learnFromAttempts(limiter, tries.map((t) => t.result));
  // Counted once recorded, so /metrics never shows a send the audit trail lacks.
  if (options.metrics) for (const t of tries) options.metrics.attempt(t.observation);
}

/** The rate limiter these options ask for (none without rateLimits). */
export const limiterOf = (options: SenderOptions) =>
  options.rateLimits && { pool: options.pool, limits: options.rateLimits, transport: options.transport, logger: options.logger };

/** What a row taken for sending is marked by: the staging allowlist, the opt-out categories. */
export const markRulesOf = (options: SenderOptions): MarkRules => ({
  allowedDomains: suppressOutside(options.staging),
  categories: options.catalogue.unsubscribeCategories,
});

async function sendOne(
  options: SenderOptions,
  row: MarkedRow,
): Promise<{ result: AttemptResult; observation: AttemptObservation }> {
  const startedAt = new Date();
  const messageId = messageIdFor(row.id, options.messageIdDomain);
  const route = routeRecipient(options.staging, row.recipient);
  const base: AttemptBase = {
    outboxId: row.id,
    jobId: row.job_id,
    // Counted when recorded (batch-sql.ts): this try is the next number.
    attempt: row.attempts + 1,
    transport: options.transport.name,
    messageId,
    startedAt,
    scrub: [...options.catalogue.sensitiveProps(row.template)],
    sentTo: route.originalTo === null ? null : route.to,
  };
  if (options.isStopping()) {
    const result: AttemptResult = {
      ...base,
      outcome: 'released',
      nextStatus: 'pending',
      errorClass: null,
      providerMessageId: null,
      responseCode: null,
      response: null,
      errorMessage: null,
      retryDelayMs: 0,
    };
    return { result, observation: observe(row, result, 0) };
  }
  // The send span continues the trace of the request that enqueued the email.
  const result = await inSendSpan(
    row.traceparent,
    { 'mailroom.outbox_id': row.id, 'mailroom.template': row.template, 'mailroom.attempt': base.attempt },
    async (span) => {
      const result = await attempt(options, row, base);
      markOutcome(span, result);
      return result;
    },
  );
  const durationMs = Date.now() - startedAt.getTime();
  options.logger.info(
    {
      outboxId: row.id,
      template: row.template,
      transport: result.transport,
      attempt: result.attempt,
      outcome: result.outcome,
      errorClass: result.errorClass ?? undefined,
      responseCode: result.responseCode ?? undefined,
      durationMs,
    },
    result.outcome === 'sent' ? 'sent' : `send ${result.outcome}: ${result.errorMessage}`,
  );
  return { result, observation: observe(row, result, durationMs) };
}

async function attempt(options: SenderOptions, row: MarkedRow, base: AttemptBase): Promise<AttemptResult> {
  const envelope = options.catalogue.get(row.template)?.envelope ?? EMPTY_ENVELOPE;
  try {
    const category = options.catalogue.unsubscribeCategories.get(row.template);
    const unsubscribe = category && options.unsubscribe ? unsubscribeUrl(options.unsubscribe, row.recipient, category) : null;
    const rendered = await renderEmail(options.catalogue, row.template, row.props, {
      baseUrl: options.frontendBaseUrl,
      ...(row.locale ? { locale: row.locale } : {}),
      ...(unsubscribe ? { unsubscribeUrl: unsubscribe } : {}),
    });
    const receipt = await abandonOnAbort(
      options.transport.send({
        outboxId: row.id,
        messageId: base.messageId,
        from: envelope.from ?? options.from,
        to: base.sentTo ?? row.recipient,
        // The row's own Reply-To and tags (given at enqueue) over and beside the template's.
        ...((row.reply_to ?? envelope.replyTo) ? { replyTo: (row.reply_to ?? envelope.replyTo)! } : {}),
        headers: {
          ...envelope.headers,
          ...(base.sentTo ? { 'X-Mailroom-Original-To': row.recipient } : {}),
          // RFC 2369 and RFC 8058: mail clients show an unsubscribe button that POSTs to the link.
          ...(unsubscribe ? { 'List-Unsubscribe': `<${unsubscribe}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } : {}),
        },
        template: row.template,
        tags: row.tags?.length ? [...new Set([...envelope.tags, ...row.tags])] : envelope.tags,
        ...rendered,
      }),
      options.abortSignal,
    );
    return {
      ...base,
      transport: receipt.transport ?? base.transport,
      outcome: 'sent',
      nextStatus: 'sent',
      errorClass: null,
      providerMessageId: receipt.providerMessageId,
      responseCode: receipt.responseCode,
      response: receipt.response,
      errorMessage: null,
      retryDelayMs: 0,
    };
  } catch (error) {
    return failureResult(options, row, base, error);
  }
}

function observe(row: MarkedRow, result: AttemptResult, durationMs: number): AttemptObservation {
  return {
    template: row.template,
    transport: result.transport,
    outcome: result.outcome,
    errorClass: result.errorClass,
    durationSeconds: durationMs / 1000,
    commitToSendSeconds: result.outcome === 'sent' ? (Date.now() - new Date(row.created_at).getTime()) / 1000 : null,
  };
}

type AttemptBase = Omit<AttemptResult, 'outcome' | 'nextStatus' | 'errorClass' | 'providerMessageId' | 'responseCode' | 'response' | 'errorMessage' | 'retryDelayMs'> & {
  messageId: string;
};

function failureResult(options: SenderOptions, row: MarkedRow, base: AttemptBase, error: unknown): AttemptResult {
  const sendError =
    error instanceof SendError
      ? error
      : new SendError('transient', error instanceof Error ? error.message : String(error));
  // The provider asked us to slow down, or refused our own settings (credentials,
  // certificate): not the email's fault, so the try is not counted (it uses up
  // nothing of the budget) and it always comes back.
  const throttled = sendError.errorClass === 'throttled' || sendError.errorClass === 'config';
  const exhausted = !throttled && base.attempt >= row.max_attempts;
  const retry = sendError.retryable && !exhausted && !(sendError instanceof RenderError);
  const message = exhausted && sendError.retryable ? `${sendError.message} (attempts exhausted)` : sendError.message;
  return {
    ...base,
    transport: sendError.transport ?? base.transport,
    uncounted: throttled,
    outcome: retry ? 'retry' : 'failed',
    nextStatus: retry ? 'retrying' : 'failed',
    errorClass: sendError.errorClass,
    providerMessageId: null,
    responseCode: sendError.responseCode ?? null,
    response: sendError.response ?? null,
    errorMessage: message,
    // Every try so far, counted or not, lengthens the wait: a provider that keeps
    // throttling is asked less and less often.
    retryDelayMs: retry ? retryDelayMs(options.retry, base.attempt + row.uncounted_tries) : 0,
  };
}

/**
 * A send abandoned at shutdown may still complete on the wire: it is recorded as
 * ambiguous (retried with the same Message-ID), never as a clean failure.
 */
function abandonOnAbort<T>(send: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abandoned());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abandoned());
    signal.addEventListener('abort', onAbort, { once: true });
    send.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function abandoned(): SendError {
  return new SendError('ambiguous', 'send abandoned at shutdown; it may have been delivered');
}
