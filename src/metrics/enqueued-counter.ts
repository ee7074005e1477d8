// Counted by enqueueEmail() in whatever process calls it (the application's).
// A call whose transaction later rolls back still counts: the committed truth is
// `select count(*) from mailroom.outbox`, this is the rate the app asks for mail.
import { Counter } from 'prom-client';

export const enqueuedCounter = new Counter({
  name: 'mailroom_enqueued_total',
  help: 'Outbox rows written by enqueueEmail() in this process (rolled-back transactions included; an idempotent repeat is not counted).',
  labelNames: ['template'] as const,
  registers: [],
});
