// A transport that accepts every email at once and keeps nothing: the bench's
// "transport that accepts at once" (issue #7 target 2), so what is left is
// mailroom's own cost per email (relay, queue, render, audit). Bench only.
import { loadConfig, workerSettingsFromEnv } from '../../src/cli/env.ts';
import { createLogger } from '../../src/logger.ts';
import type { SendReceipt, Transport } from '../../src/transports/index.ts';
import { startWorker } from '../../src/worker/start-worker.ts';
import { config as productConfig } from '../../test/support/product.ts';
import { BENCH_WORKER_ENV } from './env.ts';

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
  const config = loadConfig({ ...BENCH_WORKER_ENV, ...env });
  return startWorker({
    ...workerSettingsFromEnv(config),
    config: productConfig,
    databaseUrl: config.DATABASE_URL!,
    transport,
    logger: createLogger({ level: 'silent' }),
  });
}
