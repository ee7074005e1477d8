// The pg-boss side of the hand-off: one queue, whose jobs carry only an outbox id,
// so a replay re-renders with the current template and props.
import { PgBoss, type ConstructorOptions } from 'pg-boss';
import type pg from 'pg';
import { pgTimeoutSettings, type DatabaseOptions } from '../db/connect.ts';

export const SEND_QUEUE = 'mailroom.send';

export interface SendJobData {
  outboxId: string;
}

export interface BossOptions {
  /** Run pg-boss's maintenance and scheduling loops (workers yes, one-shot commands no). */
  supervise?: boolean;
  /** Timeouts and keepalive of pg-boss's own pool, as for connect() (DEFAULT_DATABASE_OPTIONS by default). */
  database?: DatabaseOptions;
}

export function createBoss(databaseUrl: string, options: BossOptions = {}): PgBoss {
  const supervise = options.supervise ?? false;
  // pg-boss hands its constructor options to pg.Pool as they are (node_modules/pg-boss/dist/db.js),
  // so the pool settings its types do not list reach pg too.
  const config: ConstructorOptions & pg.PoolConfig = {
    connectionString: databaseUrl,
    application_name: 'mailroom-pgboss',
    max: 4,
    supervise,
    schedule: false,
    migrate: true,
    ...pgTimeoutSettings(options.database),
  };
  return new PgBoss(config);
}

/**
 * Create the send queue. Retries are the outbox's business (per-template
 * max_attempts, backoff with jitter, visible status), so pg-boss gets none: a job
 * that fails or expires is picked up by the sweeper and handed off again.
 * Completed jobs are kept one hour; the outbox and delivery_attempt hold the history.
 */
export async function ensureSendQueue(boss: PgBoss): Promise<void> {
  const options = { retryLimit: 0, deleteAfterSeconds: 3600, retentionSeconds: 7 * 86_400 };
  const existing = await boss.getQueue(SEND_QUEUE);
  if (existing) await boss.updateQueue(SEND_QUEUE, options);
  else await boss.createQueue(SEND_QUEUE, options);
}
