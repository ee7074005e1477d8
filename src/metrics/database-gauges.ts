// The state of the outbox and of pg-boss's send queue, read from PostgreSQL when
// Prometheus scrapes. It is the same for every process, so only the api process
// (`mailroom serve`, and `mailroom dev`) registers it: workers would only repeat it.
// Every query reads a partial or leading-column index, so a scrape costs the
// size of the backlog, not of the history.
import { Gauge, type Registry } from 'prom-client';
import { sql } from 'kysely';
import type { Db } from '../db/connect.ts';
import { SEND_QUEUE, sendJobCounts } from '../queue/send-queue.ts';

const BACKLOG_STATUSES = ['pending', 'queued', 'sending', 'retrying'] as const;

interface Snapshot {
  rows: Map<string, number>;
  oldestPendingSeconds: number;
  relayLagSeconds: number;
  jobs: Map<string, number>;
  /** Rate-limit keys (`transport:smtp`) paused now, e.g. after a 401. */
  paused: string[];
}

async function readSnapshot(db: Db): Promise<Snapshot> {
  const { rows: counts } = await sql<{ status: string; count: string }>`
    select status, count(*) as count from mailroom.outbox
     where phase in ('pending', 'in flight', 'retrying')
     group by status`.execute(db.kysely);
  // Oldest row still waiting to go out; relay lag is the part of that wait spent
  // due but not yet claimed by a relay (the relay's own delay).
  const { rows: ages } = await sql<{ oldest: number | null; lag: number | null }>`
    select extract(epoch from now() - (select min(created_at) from mailroom.outbox
                                         where phase in ('pending', 'in flight', 'retrying')))::float8 as oldest,
           extract(epoch from now() - (select min(send_after) from mailroom.outbox
                                         where phase in ('pending', 'retrying') and send_after <= now()))::float8 as lag`.execute(db.kysely);
  const jobs = await sendJobCounts(db.kysely);
  const { rows: paused } = await sql<{ key: string }>`
    select key from mailroom.rate_limit where paused_until > now()`.execute(db.kysely);
  return {
    paused: paused.map((r) => r.key),
    rows: new Map(counts.map((r) => [r.status, Number(r.count)])),
    oldestPendingSeconds: Math.max(0, ages[0]?.oldest ?? 0),
    relayLagSeconds: Math.max(0, ages[0]?.lag ?? 0),
    jobs,
  };
}

export function registerDatabaseGauges(registry: Registry, db: Db): void {
  // One snapshot per scrape, shared by the gauges below: the registry collects
  // them all concurrently, so they join the read in flight.
  let current: Promise<Snapshot> | undefined;
  const snapshot = () => {
    current ??= readSnapshot(db).finally(() => (current = undefined));
    return current;
  };
  const registers = [registry];

  new Gauge({
    name: 'mailroom_outbox_backlog_rows',
    help: 'Outbox rows not yet settled, by status.',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      const { rows } = await snapshot();
      for (const status of BACKLOG_STATUSES) this.set({ status }, rows.get(status) ?? 0);
    },
  });
  new Gauge({
    name: 'mailroom_outbox_oldest_pending_seconds',
    help: 'Age of the oldest outbox row not yet settled (0 when there is none).',
    registers,
    async collect() {
      this.set((await snapshot()).oldestPendingSeconds);
    },
  });
  new Gauge({
    name: 'mailroom_relay_lag_seconds',
    help: 'How long the oldest due row has waited to be claimed by a relay (0 when none is due).',
    registers,
    async collect() {
      this.set((await snapshot()).relayLagSeconds);
    },
  });
  new Gauge({
    name: 'mailroom_transport_paused',
    help: '1 while a transport is paused for every worker (bad credentials, untrusted certificate): alert on it.',
    labelNames: ['transport'] as const,
    registers,
    async collect() {
      this.reset();
      for (const key of (await snapshot()).paused) if (key.startsWith('transport:')) this.set({ transport: key.slice('transport:'.length) }, 1);
    },
  });
  new Gauge({
    name: 'mailroom_queue_jobs',
    help: `pg-boss jobs of the ${SEND_QUEUE} queue, by state.`,
    labelNames: ['state'] as const,
    registers,
    async collect() {
      const { jobs } = await snapshot();
      for (const state of ['created', 'retry', 'active', 'completed', 'cancelled', 'failed']) this.set({ state }, jobs.get(state) ?? 0);
    },
  });
}
