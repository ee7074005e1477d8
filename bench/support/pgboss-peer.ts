// The drain bench's peer (issue 17): what a team would write without mailroom, a
// hand-written pg-boss + nodemailer worker. The producer inserts one pg-boss job per
// email (recipient and props in the job's data); two batch consumers of 50 (mailroom's
// defaults: WORKER_CONCURRENCY=2, WORKER_BATCH_SIZE=50, burstWhenBatchFull, a 0.5 s
// poll) render the same product template mailroom renders and send through a pooled
// nodemailer transport (the same pool settings as mailroom's SMTP transport). No
// outbox row, no audit row, no suppression or opt-out lookup, no lease: the job's own
// state is the only record. With `transport: 'accept'` the handler renders and does
// not send, as mailroom's accept-at-once transport does. Bench only.
//
// Its pg-boss lives in its own schema (pgboss_peer) of the bench database, so it never
// sees mailroom's pg-boss (schema pgboss) or its queue.
import nodemailer from 'nodemailer';
import { PgBoss, type JobInsert } from 'pg-boss';
import type pg from 'pg';
import { renderEmail } from '../../test/support/product.ts';

export const PEER_SCHEMA = 'pgboss_peer';
export const PEER_QUEUE = 'email.send';
export const PEER_APPLICATION_NAME = 'pgboss-peer';

export interface PeerJob {
  to: string;
  template: 'verify-email';
  props: Record<string, unknown>;
}

export interface PgBossPeerOptions {
  databaseUrl: string;
  transport: 'smtp' | 'accept';
  /** SMTP only: where to send. */
  smtpUrl?: string;
  /** Batch consumers in this process (mailroom's WORKER_CONCURRENCY default: 2). */
  concurrency?: number;
  /** Jobs per fetch (mailroom's WORKER_BATCH_SIZE default: 50). */
  batchSize?: number;
  /** nodemailer pool size (mailroom's SMTP_MAX_CONNECTIONS default: 5). */
  maxConnections?: number;
}

export interface PgBossPeer {
  /** The producer: one job per email, all of them in one INSERT (on `client`, in its transaction, when given). */
  enqueue(jobs: PeerJob[], client?: pg.ClientBase): Promise<void>;
  /** Start the consumers (enqueue works before). */
  work(): Promise<void>;
  /** Emails rendered (and, for smtp, accepted by the server) so far. */
  sent(): number;
  /** Remove every job of the queue. */
  clear(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPgBossPeer(options: PgBossPeerOptions): Promise<PgBossPeer> {
  const concurrency = options.concurrency ?? 2;
  const batchSize = options.batchSize ?? 50;
  // Mailroom's own pg-boss gets the same pool size (src/queue/send-queue.ts: max 4) and
  // no cron scheduler; maintenance (supervise) runs, as in mailroom's worker.
  const boss = new PgBoss({
    connectionString: options.databaseUrl,
    schema: PEER_SCHEMA,
    application_name: PEER_APPLICATION_NAME,
    max: 4,
    schedule: false,
  });
  boss.on('error', () => {});
  await boss.start();
  // Completed jobs kept an hour, as mailroom keeps its own; retries left at pg-boss's default.
  if (!(await boss.getQueue(PEER_QUEUE))) await boss.createQueue(PEER_QUEUE, { deleteAfterSeconds: 3600 });

  const transporter =
    options.transport === 'smtp'
      ? nodemailer.createTransport({ url: options.smtpUrl, pool: true, maxConnections: options.maxConnections ?? 5, maxMessages: 1000 } as never)
      : null;
  let sent = 0;

  return {
    async enqueue(jobs, client) {
      const rows: JobInsert<PeerJob>[] = jobs.map((data) => ({ data }));
      await boss.insert(PEER_QUEUE, rows, client ? { db: { executeSql: (text: string, values?: unknown[]) => client.query(text, values) } } : undefined);
    },
    async work() {
      await boss.work<PeerJob>(
        PEER_QUEUE,
        { batchSize, localConcurrency: concurrency, pollingIntervalSeconds: 0.5, burstWhenBatchFull: true },
        // The whole batch at once, as mailroom's sender does; a failed send fails the batch
        // (pg-boss retries it), the simplest thing a hand-written worker does.
        async (jobs) => {
          await Promise.all(
            jobs.map(async (job) => {
              const rendered = await renderEmail(job.data.template, job.data.props);
              if (transporter) await transporter.sendMail({ from: 'bench@example.test', to: job.data.to, ...rendered });
              sent += 1;
            }),
          );
        },
      );
    },
    sent: () => sent,
    async clear() {
      await boss.deleteAllJobs(PEER_QUEUE);
    },
    async stop() {
      await boss.stop({ graceful: true, timeout: 10_000, close: true });
      transporter?.close();
    },
  };
}
