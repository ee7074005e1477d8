// /metrics after a real run of sends: the counters agree with what the audit trail
// says happened, the database gauges with the outbox, and /readyz of a worker
// process turns 503 once its loops stop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchWorker, type RunningWorker } from '../src/cli/commands/worker.ts';
import { loadConfig } from '../src/cli/env.ts';
import { buildServer, type Server } from '../src/http/server.ts';
import { enqueueEmail } from './support/mailroom.ts';
import { createLogger } from '../src/logger.ts';
import { registerDatabaseGauges } from '../src/metrics/database-gauges.ts';
import { createMetrics, type Metrics } from '../src/metrics/metrics.ts';
import { useScenario } from './support/scenario.ts';
import { statusCounts, waitUntil } from './support/worker.ts';
import { config as productConfig } from './support/mailroom.ts';

const s = useScenario();
const props = { name: 'Ada', token: 'metrics-token-0123456789abcdef' };

/** The value of one sample line, e.g. sample(text, 'mailroom_emails_sent_total', { template: 'account-confirm' }). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `) ? wanted.every((w) => l.includes(w)) : false);
  if (!line) throw new Error(`no sample ${name} ${JSON.stringify(labels)} in:\n${text.split('\n').filter((l) => l.startsWith(name)).join('\n')}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('GET /metrics after a run of sends', () => {
  let metrics: Metrics;
  let running: RunningWorker;
  let server: Server;
  let text: string;

  beforeAll(async () => {
    const config = loadConfig(s.env({ RETRY_BASE_MS: '50' }));
    metrics = createMetrics();
    running = await launchWorker(productConfig, config, config.DATABASE_URL!, createLogger({ level: 'silent' }), metrics);
    registerDatabaseGauges(metrics.registry, running.db);
    server = buildServer({ config: productConfig, db: running.db, logger: createLogger({ level: 'silent' }), metrics, stalledLoops: () => running.worker.stalledLoops() });

    s.sink.respond('refused@example.test', 550);
    s.sink.respond('flaky@example.test', [451]);
    for (let i = 0; i < 3; i++) await enqueueEmail(s.pool, { template: 'account-confirm', to: `ok${i}@example.test`, props });
    await enqueueEmail(s.pool, { template: 'account-reset', to: 'refused@example.test', props: { ...props, expiresAt: new Date(Date.now() + 3_600_000).toISOString() } });
    await enqueueEmail(s.pool, { template: 'account-confirm', to: 'flaky@example.test', props });
    await waitUntil(() => statusCounts(s.pool), (c) => (c.sent ?? 0) === 4 && (c.failed ?? 0) === 1, 30_000, '4 sent and 1 failed');
    text = (await server.inject({ method: 'GET', url: '/metrics' })).body;
  });

  afterAll(async () => {
    await server?.close();
    await running?.stop();
  });

  it('counts sends, failures and retries by template, transport and error class', () => {
    expect(sample(text, 'mailroom_emails_sent_total', { template: 'account-confirm', transport: 'smtp' })).toBe(4);
    expect(sample(text, 'mailroom_emails_failed_total', { template: 'account-reset', transport: 'smtp', error_class: 'permanent' })).toBe(1);
    expect(sample(text, 'mailroom_send_retries_total', { template: 'account-confirm', transport: 'smtp', error_class: 'transient' })).toBe(1);
  });

  it('observes send durations per attempt and commit-to-send latency per sent email', () => {
    expect(sample(text, 'mailroom_send_duration_seconds_count', { transport: 'smtp', outcome: 'sent' })).toBe(4);
    expect(sample(text, 'mailroom_send_duration_seconds_count', { transport: 'smtp', outcome: 'failed' })).toBe(1);
    expect(sample(text, 'mailroom_commit_to_send_seconds_count', { template: 'account-confirm' })).toBe(4);
    expect(sample(text, 'mailroom_commit_to_send_seconds_sum', { template: 'account-confirm' })).toBeGreaterThan(0);
  });

  it('counts the enqueues of this process, and reads the backlog and the queue from the database', async () => {
    expect(sample(text, 'mailroom_enqueued_total', { template: 'account-confirm' })).toBeGreaterThanOrEqual(4);
    expect(sample(text, 'mailroom_outbox_backlog_rows', { status: 'pending' })).toBe(0);
    expect(sample(text, 'mailroom_outbox_backlog_rows', { status: 'sending' })).toBe(0);
    expect(sample(text, 'mailroom_outbox_oldest_pending_seconds')).toBe(0);
    expect(sample(text, 'mailroom_relay_lag_seconds')).toBe(0);
    // Jobs the relay handed to its own sender are deleted once sent, and a fetched batch's
    // jobs complete just after its rows settle: the gauge must match the table, scraped
    // and counted side by side until nothing moves.
    await waitUntil(
      async () => {
        const scraped = (await server.inject({ method: 'GET', url: '/metrics' })).body;
        const { rows } = await running.db.pool.query(`select count(*)::int as n from pgboss.job where name = 'mailroom.send' and state = 'completed'`);
        return { gauge: sample(scraped, 'mailroom_queue_jobs', { state: 'completed' }) ?? 0, table: rows[0].n as number };
      },
      (v) => v.gauge === v.table,
      5_000,
      'mailroom_queue_jobs{state="completed"} to match pgboss.job',
    );
  });

  it('shows a due row that nobody relays as backlog and relay lag', async () => {
    // Stop the loops, then enqueue: the row stays pending and ages.
    await running.worker.stop();
    await s.pool.query(
      `insert into mailroom.outbox (template, recipient, props, send_after, created_at)
       values ('account-confirm', 'late@example.test', $1, now() - interval '90 seconds', now() - interval '90 seconds')`,
      [JSON.stringify(props)],
    );
    const later = (await server.inject({ method: 'GET', url: '/metrics' })).body;
    expect(sample(later, 'mailroom_outbox_backlog_rows', { status: 'pending' })).toBe(1);
    expect(sample(later, 'mailroom_outbox_oldest_pending_seconds')).toBeGreaterThanOrEqual(89);
    expect(sample(later, 'mailroom_relay_lag_seconds')).toBeGreaterThanOrEqual(89);
  });

  it('shows a transport paused for every worker (e.g. after a Mailjet 401) until the pause ends', async () => {
    await s.pool.query(
      `insert into mailroom.rate_limit (key, paused_until, pause_reason) values ('transport:mailjet', now() + interval '1 minute', 'HTTP 401')`,
    );
    const paused = (await server.inject({ method: 'GET', url: '/metrics' })).body;
    expect(sample(paused, 'mailroom_transport_paused', { transport: 'mailjet' })).toBe(1);
    await s.pool.query(`update mailroom.rate_limit set paused_until = null where key = 'transport:mailjet'`);
    const resumed = (await server.inject({ method: 'GET', url: '/metrics' })).body;
    expect(resumed).not.toMatch(/^mailroom_transport_paused\{/m);
  });

  it('/readyz of a process whose worker loops stopped answers 503 naming them', async () => {
    await running.worker.stop();
    const response = await server.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ status: 'unavailable', reason: 'worker loops stalled' });
  });
});
