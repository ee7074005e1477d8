// Tracing through the outbox: the enqueuing request's W3C traceparent is stored
// with the row, and the worker's send span is its child, so one trace shows the
// request and the delivery that followed seconds (or retries) later. Only the
// OpenTelemetry API is used: with no SDK registered every call is a cheap no-op,
// and an application that registers one (with the W3C propagator, the default of
// the Node SDK) gets the spans without configuring mailroom.
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';

export const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

const tracer = () => trace.getTracer('mailroom');

/** The active context's traceparent, if the application traces and a propagator is registered. */
export function currentTraceparent(): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  const value = carrier.traceparent;
  return value && TRACEPARENT.test(value) ? value : null;
}

/**
 * Run `fn` in a consumer span whose parent is the stored traceparent (a root span
 * when there is none). The span ends when `fn` settles.
 */
export async function inSendSpan<T>(
  traceparent: string | null,
  attributes: Record<string, string | number>,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  // Never the worker's ambient context: a send belongs to the request that asked
  // for it, or to no trace at all.
  const parent = traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
  return tracer().startActiveSpan(
    `mailroom.send ${attributes['mailroom.template'] ?? ''}`.trim(),
    { kind: SpanKind.CONSUMER, attributes },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** What the attempt came to, on its span: attributes always, error status unless sent. */
export function markOutcome(
  span: Span,
  result: { outcome: string; transport: string; errorClass: string | null; errorMessage: string | null },
): void {
  span.setAttribute('mailroom.outcome', result.outcome);
  span.setAttribute('mailroom.transport', result.transport);
  if (result.errorClass) span.setAttribute('mailroom.error_class', result.errorClass);
  if (result.outcome !== 'sent' && result.outcome !== 'released') {
    span.setStatus({ code: SpanStatusCode.ERROR, message: result.errorMessage ?? result.outcome });
  }
}
