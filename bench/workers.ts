// Issue #7 targets 5 and 6: 1, 2 and 4 `mailroom worker` processes draining the
// same backlog from one database into one SMTP sink: emails/s, duplicates at the
// sink (there must be none), and each process's peak RSS at full rate.
import pg from 'pg';
import { startCountSink } from './support/count-sink.ts';
import type { BenchDatabase } from './support/database.ts';
import { clearRecentRows, insertBacklog, waitForSent } from './support/outbox.ts';
import { round } from './support/stats.ts';
import { startWorkerProcess } from './support/worker-processes.ts';

export interface WorkersFigures {
  processes: number;
  emails: number;
  perSecond: number;
  duplicates: number;
  /** The largest peak RSS among the processes. */
  peakRssMiB: number;
}

const props = { name: 'Ada', token: 'bench-token-0123456789abcdef' };

export async function benchWorkers(database: BenchDatabase, options: { emails: number; counts: number[] }): Promise<WorkersFigures[]> {
  const sink = await startCountSink();
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  const env = {
    DATABASE_URL: database.url,
    MAIL_TRANSPORT: 'smtp',
    SMTP_URL: sink.url,
    LOG_LEVEL: 'info',
    LOG_PRETTY: 'false',
  };
  const figures: WorkersFigures[] = [];
  try {
    for (const processes of options.counts) {
      await clearRecentRows(pool);
      sink.messageIds.clear();
      const before = sink.received();
      // Start them all before timing, so the figure is the drain, not Node's
      // start-up; then commit the whole backlog at once.
      const workers = await Promise.all(Array.from({ length: processes }, () => startWorkerProcess(env)));
      const start = performance.now();
      await insertBacklog(pool, options.emails, props);
      await waitForSent(pool, options.emails);
      const perSecond = options.emails / ((performance.now() - start) / 1000);
      const peak = Math.max(...(await Promise.all(workers.map((w) => w.peakRssMiB()))));
      await Promise.all(workers.map((w) => w.stop()));
      figures.push({
        processes,
        emails: options.emails,
        perSecond: round(perSecond, 1),
        duplicates: sink.received() - before - sink.messageIds.size,
        peakRssMiB: peak,
      });
    }
    return figures;
  } finally {
    await pool.end();
    await sink.close();
  }
}
