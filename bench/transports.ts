// Throughput per transport against local stand-ins (issue #4): for each transport,
// the same rendered email sent straight through transport.send() (50 in flight:
// the baseline), beside a backlog of outbox rows drained by one worker through it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { launchWorker } from '../src/cli/commands/worker.ts';
import { loadConfig } from '../src/cli/env.ts';
import { createLogger } from '../src/logger.ts';
import { renderEmail } from '../test/support/product.ts';
import { createTransportFromConfig } from '../src/cli/transport-from-env.ts';
import { startMailjetStub } from '../test/support/mailjet-stub.ts';
import { startCountSink } from './support/count-sink.ts';
import type { BenchDatabase } from './support/database.ts';
import { clearRecentRows, insertBacklog, waitForSent } from './support/outbox.ts';
import { round } from './support/stats.ts';
import { config as productConfig } from '../test/support/product.ts';
import { BENCH_WORKER_ENV } from './support/env.ts';

export interface TransportFigures {
  transport: string;
  emails: number;
  directPerSecond: number;
  mailroomPerSecond: number;
  ratio: number;
}

const props = { name: 'Ada', token: 'bench-token-0123456789abcdef' };

export async function benchTransports(database: BenchDatabase, options: { emails: number }): Promise<TransportFigures[]> {
  const sink = await startCountSink();
  const stub = await startMailjetStub();
  const captureDir = await mkdtemp(join(tmpdir(), 'mailroom-bench-capture-'));
  const pool = new pg.Pool({ connectionString: database.url, max: 4 });
  const envs: Record<string, Record<string, string>> = {
    smtp: { MAIL_TRANSPORT: 'smtp', SMTP_URL: sink.url },
    mailjet: { MAIL_TRANSPORT: 'mailjet', MAILJET_API_KEY: stub.apiKey, MAILJET_API_SECRET: stub.apiSecret, MAILJET_API_URL: stub.url },
    capture: { MAIL_TRANSPORT: 'capture', CAPTURE_DIR: captureDir },
  };
  const figures: TransportFigures[] = [];
  try {
    for (const [name, env] of Object.entries(envs)) {
      const config = loadConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent', ...BENCH_WORKER_ENV, ...env });
      const rendered = await renderEmail('verify-email', props);

      const transport = createTransportFromConfig(config);
      const directStart = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          while (next < options.emails) {
            const i = next++;
            await transport.send({
              outboxId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
              messageId: `<${i}@bench.test>`,
              from: config.MAIL_FROM,
              to: `direct${i}@example.test`,
              ...rendered,
            });
          }
        }),
      );
      const directPerSecond = options.emails / ((performance.now() - directStart) / 1000);
      await transport.close();

      await clearRecentRows(pool);
      await insertBacklog(pool, options.emails, props);
      const worker = await launchWorker(productConfig, config, database.url, createLogger({ level: 'silent' }));
      const start = performance.now();
      await waitForSent(pool, options.emails);
      const mailroomPerSecond = options.emails / ((performance.now() - start) / 1000);
      await worker.stop();
      figures.push({
        transport: name,
        emails: options.emails,
        directPerSecond: round(directPerSecond, 1),
        mailroomPerSecond: round(mailroomPerSecond, 1),
        ratio: round(mailroomPerSecond / directPerSecond, 2),
      });
    }
  } finally {
    await pool.end();
    await sink.close();
    await stub.close();
    await rm(captureDir, { recursive: true, force: true });
  }
  return figures;
}
