// Tracing across the outbox: a request's trace context is stored with the row it
// enqueued, and the worker's send span, seconds later in another part of the
// system, is a child of the request's span. Uses the OpenTelemetry SDK only here;
// mailroom itself depends on the API alone.
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../src/index.ts';
import { enqueueEmail, enqueueEmails } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { waitUntil } from './support/worker.ts';

const exporter = new InMemorySpanExporter();
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
});
afterAll(() => {
  trace.disable();
  propagation.disable();
  context.disable();
});

const s = useScenario({ worker: true });
const props = { name: 'Ada', token: 'trace-token-0123456789abcdef' };

const sendSpans = (outboxId: string) => exporter.getFinishedSpans().filter((span) => span.attributes['mailroom.outbox_id'] === outboxId);

describe('the send span continues the enqueuing request', () => {
  it('stores the active traceparent with the row and parents the send span on the request span', async () => {
    const tracer = trace.getTracer('test-app');
    let requestTraceId = '';
    let requestSpanId = '';
    const id = await tracer.startActiveSpan('POST /auth/signup', async (span) => {
      requestTraceId = span.spanContext().traceId;
      requestSpanId = span.spanContext().spanId;
      try {
        return await enqueueEmail(s.pool, { template: 'account-confirm', to: 'traced@example.test', props });
      } finally {
        span.end();
      }
    });
    const { rows } = await s.pool.query('select traceparent from mailroom.outbox where id = $1', [id]);
    expect(rows[0].traceparent).toBe(`00-${requestTraceId}-${requestSpanId}-01`);

    const [send] = await waitUntil(async () => sendSpans(id), (spans) => spans.length === 1, 20_000, 'the send span');
    expect(send!.spanContext().traceId).toBe(requestTraceId);
    expect(send!.parentSpanContext?.spanId).toBe(requestSpanId);
    expect(send!.name).toBe('mailroom.send account-confirm');
    expect(send!.attributes).toMatchObject({ 'mailroom.template': 'account-confirm', 'mailroom.outcome': 'sent', 'mailroom.transport': 'smtp', 'mailroom.attempt': 1 });
  });

  it('a fan-out (enqueueEmails) stores the request\'s traceparent on every row', async () => {
    const tracer = trace.getTracer('test-app');
    let traceparent = '';
    const ids = await tracer.startActiveSpan('POST /circles/:id/media', async (span) => {
      traceparent = `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`;
      try {
        return await enqueueEmails(s.pool, [
          { template: 'account-confirm', to: 'fan1@example.test', props },
          { template: 'account-confirm', to: 'fan2@example.test', props },
        ]);
      } finally {
        span.end();
      }
    });
    const { rows } = await s.pool.query('select traceparent from mailroom.outbox where id = any($1)', [ids]);
    expect(rows.map((r) => r.traceparent)).toEqual([traceparent, traceparent]);
  });

  it('each retry is its own span in the same trace, the failed one marked as an error', async () => {
    s.sink.respond('retried@example.test', [451]);
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const id = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'retried@example.test', props, traceparent });
    const spans = await waitUntil(async () => sendSpans(id), (found) => found.length === 2, 30_000, 'two send spans');
    expect(spans.map((span) => span.spanContext().traceId)).toEqual(['0af7651916cd43dd8448eb211c80319c', '0af7651916cd43dd8448eb211c80319c']);
    expect(spans.map((span) => span.attributes['mailroom.outcome'])).toEqual(['retry', 'sent']);
    expect(spans[0]!.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(spans[0]!.attributes['mailroom.error_class']).toBe('transient');
  });

  it('outside any trace the row has no traceparent and the send span is a root', async () => {
    const id = await context.with(trace.deleteSpan(context.active()), () =>
      enqueueEmail(s.pool, { template: 'account-confirm', to: 'untraced@example.test', props }),
    );
    const { rows } = await s.pool.query('select traceparent from mailroom.outbox where id = $1', [id]);
    expect(rows[0].traceparent).toBeNull();
    const [send] = await waitUntil(async () => sendSpans(id), (spans) => spans.length === 1, 20_000, 'the send span');
    expect(send!.parentSpanContext).toBeUndefined();
  });

  it('refuses a malformed traceparent, naming it, and writes nothing', async () => {
    await expect(
      enqueueEmail(s.pool, { template: 'account-confirm', to: 'bad-trace@example.test', props, traceparent: '00-xyz\r\nBcc: a@b.c' }),
    ).rejects.toThrow(ValidationError);
    await expect(
      enqueueEmail(s.pool, { template: 'account-confirm', to: 'bad-trace@example.test', props, traceparent: 'nope' }),
    ).rejects.toThrow(/traceparent/);
    const { rows } = await s.pool.query("select count(*)::int as n from mailroom.outbox where recipient = 'bad-trace@example.test'");
    expect(rows[0].n).toBe(0);
  });
});
