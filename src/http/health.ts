// Probes for orchestrators and load balancers.
//   GET /healthz  the process is up and serving HTTP (liveness: no database call, so a
//                 database outage does not get every api container restarted).
//   GET /readyz   this process can do its work: PostgreSQL answers `select 1`, has no
//                 pending mailroom migration, and (in a process that runs the worker)
//                 the relay and sweeper loops are turning (readiness: 503 with the reason otherwise).
// Anyone who can reach the port may ask, so an answer carries a status and a generic
// reason only; the details (the database's error, the pending migrations, the
// stalled loops) go to the log.
import { sql } from 'kysely';
import type { FastifyPluginAsync, LogLevel } from 'fastify';
import { levels } from 'pino';
import type { Db } from '../db/connect.ts';
import { pendingMigrations } from '../db/migrate.ts';

export interface HealthOptions {
  db: Db;
  /** How long /readyz waits for the database before it answers 503. */
  readyTimeoutMs?: number;
  /** In a process that runs the worker: the loops that have stopped turning. */
  stalledLoops?: () => string[];
}

export type ReadyBody =
  | { status: 'ready' }
  | { status: 'unavailable'; reason: 'database unreachable' | 'migrations pending' | 'worker loops stalled' };

class Timeout extends Error {}

const rank = (level: string): number => (level === 'silent' ? Infinity : (levels.values[level] ?? 0));

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Timeout(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (app, { db, readyTimeoutMs = 2_000, stalledLoops }) => {
  // Probes arrive every few seconds: log them only when something is wrong (warn),
  // or not at all when LOG_LEVEL is stricter than that.
  const quiet = { logLevel: rank(app.log.level) > rank('warn') ? (app.log.level as LogLevel) : 'warn' };

  app.get('/healthz', quiet, async () => ({ status: 'ok' }));

  app.get('/readyz', quiet, async (request, reply): Promise<ReadyBody> => {
    let pending: string[];
    try {
      pending = await within(
        (async () => {
          await sql`select 1`.execute(db.kysely);
          return pendingMigrations(db.kysely);
        })(),
        readyTimeoutMs,
      );
    } catch (error) {
      request.log.warn({ err: error }, 'not ready: database unreachable');
      return reply.code(503).send({ status: 'unavailable', reason: 'database unreachable' });
    }
    if (pending.length > 0) {
      request.log.warn({ pending }, 'not ready: migrations pending');
      return reply.code(503).send({ status: 'unavailable', reason: 'migrations pending' });
    }
    const loops = stalledLoops?.() ?? [];
    if (loops.length > 0) {
      request.log.warn({ loops }, 'not ready: worker loops stalled');
      return reply.code(503).send({ status: 'unavailable', reason: 'worker loops stalled' });
    }
    return { status: 'ready' };
  });
};
