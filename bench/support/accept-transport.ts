// A transport that accepts every email at once and keeps nothing: the bench's
// "transport that accepts at once" (issue #7 target 2), so what is left is
// mailroom's own cost per email (relay, queue, render, audit). Bench only.
import { loadConfig } from '../../src/config.ts';
import { connect } from '../../src/db/connect.ts';
import { createLogger } from '../../src/logger.ts';
import { createBoss } from '../../src/queue/boss.ts';
import type { SendReceipt, Transport } from '../../src/transports/index.ts';
import { startWorker } from '../../src/worker/worker.ts';

export function createAcceptTransport(): Transport & { accepted(): number } {
  let accepted = 0;
  const receipt: SendReceipt = { providerMessageId: null, responseCode: 250, response: '250 2.0.0 accepted by the bench' };
  return {
    name: 'accept',
    async send() {
      accepted += 1;
      return receipt;
    },
    async close() {},
    accepted: () => accepted,
  };
}

/** launchWorker() with a transport of the caller's instead of MAIL_TRANSPORT's. */
export async function launchWorkerWith(env: Record<string, string>, transport: Transport): Promise<{ stop(): Promise<void> }> {
  const config = loadConfig(env);
  const db = connect(config.DATABASE_URL!, { max: config.WORKER_CONCURRENCY + 4, applicationName: 'mailroom-worker' });
  const boss = createBoss(config.DATABASE_URL!, { supervise: true });
  await boss.start();
  const worker = await startWorker({ config, db, boss, transport, logger: createLogger({ level: 'silent' }) });
  return {
    async stop() {
      await worker.stop();
      await db.close();
    },
  };
}
