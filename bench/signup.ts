// POST /auth/signup of the reference app, with its verify-email enqueued and with
// the enqueue left out (a no-op outbox), measured in the same run in alternating
// rounds: the enqueue's share of a request. Requests go through fastify.inject (the
// whole Fastify pipeline and the real transaction, no sockets). At the default
// scrypt cost the password hash dominates; at cost 10 the transaction shows.
import type { Outbox } from '../app/context.ts';
import { migrateApp } from '../app/index.ts';
import { connect } from '../src/db/connect.ts';
import { buildServer, type Server } from '../src/http/server.ts';
import { createLogger } from '../src/logger.ts';
import { enqueueEmail, enqueueEmails } from '../test/support/product.ts';
import type { BenchDatabase } from './support/database.ts';
import { alternatingRounds } from './support/stats.ts';
import { appConfig } from '../test/support/app-config.ts';

export interface SignupFigures {
  passwordCost: number;
  variant: 'with verify-email' | 'without email';
  requests: number;
  perSecond: number;
  p50Ms: number;
  p95Ms: number;
}

const withoutEmail: Outbox = { enqueue: async () => 'skipped', enqueueMany: async () => [] };

async function runVariant(server: Server, clients: number, seconds: number, counter: { n: number }): Promise<number[]> {
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const i = counter.n++;
        const started = performance.now();
        const response = await server.inject({
          method: 'POST',
          url: '/auth/signup',
          payload: { email: `user${i}@example.test`, password: 'correct horse battery', name: `User ${i}` },
        });
        if (response.statusCode !== 202) throw new Error(`signup answered ${response.statusCode}: ${response.body}`);
        latencies.push(performance.now() - started);
      }
    }),
  );
  return latencies;
}

export async function benchSignup(database: BenchDatabase, options: { seconds: number; rounds: number; clients: number }): Promise<SignupFigures[]> {
  await migrateApp(database.url);
  const db = connect(database.url, { max: options.clients + 2, applicationName: 'mailroom-bench-signup' });
  const logger = createLogger({ level: 'silent' });
  const figures: SignupFigures[] = [];
  const counter = { n: 0 };
  try {
    for (const passwordCost of [15, 10]) {
      const app = (outbox: Outbox) =>
        buildServer({ db, logger, config: appConfig({ authRateLimit: { max: 1e9, timeWindowMs: 60_000 }, passwordCost, outbox }) });
      const servers = { with: app({ enqueue: enqueueEmail, enqueueMany: enqueueEmails }), without: app(withoutEmail) };
      await Promise.all([servers.with.ready(), servers.without.ready()]);
      await runVariant(servers.with, options.clients, 1, counter); // warm-up
      const measured = await alternatingRounds(options.rounds, (variant) => runVariant(servers[variant], options.clients, options.seconds, counter));
      for (const key of ['without', 'with'] as const) {
        const m = measured[key];
        figures.push({
          passwordCost,
          variant: key === 'with' ? 'with verify-email' : 'without email',
          requests: m.n,
          perSecond: m.perSecond,
          p50Ms: m.p50,
          p95Ms: m.p95,
        });
      }
      await Promise.all([servers.with.close(), servers.without.close()]);
    }
  } finally {
    await db.close();
  }
  return figures;
}
