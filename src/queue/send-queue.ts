// Everything mailroom knows about pg-boss, in one place: the send queue's
// creation, publishing jobs in the relay's claim transaction, consuming them in
// batches, waking the consumers, the job counts for /metrics, and stopping. (Lost
// rows are found by their lease on the outbox, not here: src/worker/sweeper.ts.) No other module
// imports pg-boss or names its tables, so the hand-off can change here alone.
//
// One queue, whose jobs carry only an outbox id, so a replay re-renders with the
// current template and props. Each hand-off has a fresh job id, kept on the row
// (outbox.job_id): pg-boss's insert ignores an id it already has.
import { sql, type Kysely } from 'kysely';
import { PgBoss, type ConstructorOptions } from 'pg-boss';
import type pg from 'pg';
import { pgTimeoutSettings, type DatabaseOptions } from '../db/connect.ts';

export const SEND_QUEUE = 'mailroom.send';

/** One job as the sender sees it: the outbox row and the hand-off it belongs to. */
export interface SendJob {
  outboxId: string;
  jobId: string;
}

/** A claimed row to hand off: its fresh job id and its priority. */
export interface Handoff {
  outboxId: string;
  jobId: string;
  priority: number;
}

interface JobData {
  outboxId: string;
}

export interface SendQueueOptions {
  /** Run pg-boss's maintenance loops (workers yes, one-shot commands no). Default false. */
  supervise?: boolean;
  /** Timeouts and keepalive of pg-boss's own pool, as for connect() (DEFAULT_DATABASE_OPTIONS by default). */
  database?: DatabaseOptions;
  /** pg-boss's own errors (a failed maintenance run, a lost connection). Default: ignored. */
  onError?: (error: Error) => void;
}

/** Jobs of the send queue by state (for /metrics). */
export async function sendJobCounts(db: Kysely<any>): Promise<Map<string, number>> {
  const { rows } = await sql<{ state: string; count: string }>`
    select state::text, count(*) as count from pgboss.job where name = ${SEND_QUEUE} group by state`.execute(db);
  return new Map(rows.map((r) => [r.state, Number(r.count)]));
}

export class SendQueue {
  readonly #boss: PgBoss;
  readonly #consumers: string[] = [];

  private constructor(boss: PgBoss) {
    this.#boss = boss;
  }

  /** The queue of a database, not yet started. */
  static create(databaseUrl: string, options: SendQueueOptions = {}): SendQueue {
    // pg-boss hands its constructor options to pg.Pool as they are (node_modules/pg-boss/dist/db.js),
    // so the pool settings its types do not list reach pg too.
    const config: ConstructorOptions & pg.PoolConfig = {
      connectionString: databaseUrl,
      application_name: 'mailroom-pgboss',
      max: 4,
      supervise: options.supervise ?? false,
      schedule: false,
      migrate: true,
      ...pgTimeoutSettings(options.database),
    };
    const boss = new PgBoss(config);
    boss.on('error', options.onError ?? (() => {}));
    return new SendQueue(boss);
  }

  /** Connects pg-boss, creating or upgrading its schema when needed. After a failed start, stop() it. */
  async start(): Promise<void> {
    await this.#boss.start();
  }

  /**
   * Create the send queue, or bring its settings up to date. Retries are the
   * outbox's business (per-template max_attempts, backoff with jitter, visible
   * status), so pg-boss gets none: a job that fails or expires is found by the
   * sweeper and handed off again. Completed jobs are kept one hour; the outbox and
   * delivery_attempt hold the history.
   */
  async ensure(): Promise<void> {
    const options = { retryLimit: 0, deleteAfterSeconds: 3600, retentionSeconds: 7 * 86_400 };
    const existing = await this.#boss.getQueue(SEND_QUEUE);
    if (existing) await this.#boss.updateQueue(SEND_QUEUE, options);
    else await this.#boss.createQueue(SEND_QUEUE, options);
  }

  /** One job per row, in the caller's transaction on `client` (all of them in one insert). */
  async publish(client: pg.ClientBase, handoffs: Handoff[], expireInSeconds: number): Promise<void> {
    if (handoffs.length === 0) return;
    await this.#boss.insert(
      SEND_QUEUE,
      handoffs.map((h) => ({
        id: h.jobId,
        data: { outboxId: h.outboxId } satisfies JobData,
        priority: h.priority,
        expireInSeconds,
      })),
      { db: { executeSql: (text: string, values?: unknown[]) => client.query(text, values) } },
    );
  }

  /**
   * `consumers` batch consumers in this process, each with its own id so wake()
   * reaches them all. A handler that returns completes its jobs; the rows' own
   * status says what happened to each email.
   */
  async consume(options: { consumers: number; batchSize: number }, handler: (jobs: SendJob[]) => Promise<void>): Promise<void> {
    for (let i = 0; i < options.consumers; i++) {
      this.#consumers.push(
        await this.#boss.work<JobData>(
          SEND_QUEUE,
          // burstWhenBatchFull: a full batch means more is waiting; fetch again at once
          // instead of idling out the poll (measured: 200/s without it, see docs/performance.md).
          { batchSize: options.batchSize, pollingIntervalSeconds: 0.5, burstWhenBatchFull: true },
          (jobs) => handler(jobs.map((job) => ({ outboxId: job.data.outboxId, jobId: job.id }))),
        ),
      );
    }
  }

  /** Jobs were just published: have every consumer fetch now instead of at its next poll. */
  wake(): void {
    for (const id of this.#consumers) this.#boss.notifyWorker(id);
  }

  /** Stop fetching (batches in flight go on). */
  async stopConsuming(): Promise<void> {
    await this.#boss.offWork(SEND_QUEUE, { wait: false }).catch(() => {});
  }

  /** Graceful: active jobs get `timeoutMs` to finish, then are failed (the sweeper hands their rows off again). */
  async stop(options: { graceful: boolean; timeoutMs?: number }): Promise<void> {
    await this.#boss.stop({ graceful: options.graceful, ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}), close: true });
  }
}
