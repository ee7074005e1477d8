// The usual cast of a delivery test, set up before the file's tests and torn down
// after: a fresh migrated database, a pool on it, a real SMTP sink, and (if asked)
// a worker running in this process.
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { RunningWorker } from '../../src/cli/commands/worker.ts';
import type { MailroomConfig } from '../../src/index.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { startSmtpSink, type SmtpSink } from './smtp-sink.ts';
import { startInProcessWorker, testEnv } from './worker.ts';

export interface Scenario {
  database: TestDatabase;
  pool: pg.Pool;
  sink: SmtpSink;
  /** Set when the scenario was asked for a worker. */
  worker: RunningWorker;
  /** Environment for a worker against this database and sink (see testEnv). */
  env(overrides?: Record<string, string>): Record<string, string>;
}

export interface ScenarioOptions {
  /** Start a worker in this process; an object gives it extra settings. */
  worker?: boolean | Record<string, string>;
  /** The config the worker runs (default: the library's fixture catalogue; product tests pass the product's). */
  config?: MailroomConfig<any>;
}

/** Call at the top of a test file; the fields are ready inside tests and hooks. */
export function useScenario(options: ScenarioOptions = {}): Scenario {
  const scenario = {
    env(overrides: Record<string, string> = {}) {
      return testEnv(scenario.database.url, scenario.sink.url, overrides);
    },
  } as Scenario;

  beforeAll(async () => {
    scenario.database = await createTestDatabase();
    scenario.sink = await startSmtpSink();
    scenario.pool = new pg.Pool({ connectionString: scenario.database.url });
    if (options.worker) {
      scenario.worker = await startInProcessWorker(scenario.env(options.worker === true ? {} : options.worker), options.config);
    }
  });

  afterAll(async () => {
    await scenario.worker?.stop();
    await scenario.pool?.end();
    await scenario.sink?.close();
    await scenario.database?.drop();
  });

  return scenario;
}
