// What one mailroom process counts about its own work, for Prometheus. Each
// process (worker, api, dev) has its own Registry, so two instances in one process
// (tests) never collide on metric names. State that belongs to the database
// rather than to a process (pending rows, queue sizes) is read at scrape time by
// ./database-gauges.ts.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { enqueuedCounts } from './enqueued-counter.ts';
import { providerEventCounts } from './provider-events-counter.ts';

/** One settled attempt, as the sender recorded it. */
export interface AttemptObservation {
  template: string;
  transport: string;
  outcome: 'sent' | 'retry' | 'failed' | 'released';
  errorClass: string | null;
  durationSeconds: number;
  /** From the row's created_at (its enqueue) to the provider's acceptance; sent attempts only. */
  commitToSendSeconds: number | null;
}

export interface Metrics {
  readonly registry: Registry;
  attempt(observation: AttemptObservation): void;
  /** Rows a rate limit or a paused transport put back to wait, without an attempt. */
  deferred(count: number): void;
}

export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'mailroom_process_' });
  const registers = [registry];
  // Enqueue has no registry to hand (and must not load prom-client): it counts into
  // one module-level map that every registry of this process reads at scrape.
  new Counter({
    name: 'mailroom_enqueued_total',
    help: 'Outbox rows written by enqueue in this process (rolled-back transactions included; an idempotent repeat is not counted).',
    labelNames: ['template'] as const,
    registers,
    collect() {
      this.reset();
      for (const [template, n] of enqueuedCounts()) this.inc({ template }, n);
    },
  });

  // The webhook counts into a module-level map too (./provider-events-counter.ts):
  // only events newly stored, so a replayed batch adds nothing.
  new Counter({
    name: 'mailroom_provider_events_total',
    help: 'Provider events (Mailjet: sent, bounce, blocked, spam, unsub, open, click) stored by this process\'s webhook, by the template of their row ("(unmatched)": none) and type; replays are not counted.',
    labelNames: ['template', 'type'] as const,
    registers,
    collect() {
      this.reset();
      for (const { template, type, n } of providerEventCounts()) this.inc({ template, type }, n);
    },
  });

  const sent = new Counter({
    name: 'mailroom_emails_sent_total',
    help: 'Emails accepted by a transport.',
    labelNames: ['template', 'transport'] as const,
    registers,
  });
  const failed = new Counter({
    name: 'mailroom_emails_failed_total',
    help: 'Emails that ended failed: a permanent error, or their attempts ran out.',
    labelNames: ['template', 'transport', 'error_class'] as const,
    registers,
  });
  const retries = new Counter({
    name: 'mailroom_send_retries_total',
    help: 'Attempts that failed and were scheduled again.',
    labelNames: ['template', 'transport', 'error_class'] as const,
    registers,
  });
  const configErrors = new Counter({
    name: 'mailroom_transport_config_errors_total',
    help: 'Attempts refused for a configuration fault (e.g. Mailjet 401/403): alert on any increase.',
    labelNames: ['transport'] as const,
    registers,
  });
  const sendDuration = new Histogram({
    name: 'mailroom_send_duration_seconds',
    help: 'Render plus transport send, per attempt.',
    labelNames: ['transport', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const commitToSend = new Histogram({
    name: 'mailroom_commit_to_send_seconds',
    help: 'From the enqueue (the row created_at) to the transport accepting the email.',
    labelNames: ['template'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
    registers,
  });

  const deferred = new Counter({
    name: 'mailroom_send_deferred_total',
    help: 'Rows put back to wait by a rate limit or a paused transport (no attempt used).',
    registers,
  });

  return {
    registry,
    deferred(count) {
      if (count > 0) deferred.inc(count);
    },
    attempt({ template, transport, outcome, errorClass, durationSeconds, commitToSendSeconds }) {
      if (outcome === 'released') return; // never handed to a transport
      sendDuration.observe({ transport, outcome }, durationSeconds);
      const errorLabel = errorClass ?? 'none';
      if (errorClass === 'config') configErrors.inc({ transport });
      if (outcome === 'sent') {
        sent.inc({ template, transport });
        if (commitToSendSeconds !== null) commitToSend.observe({ template }, commitToSendSeconds);
      } else if (outcome === 'retry') {
        retries.inc({ template, transport, error_class: errorLabel });
      } else {
        failed.inc({ template, transport, error_class: errorLabel });
      }
    },
  };
}
