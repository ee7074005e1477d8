// The HTTP server of `mailroom serve` on a scenario's database, driven through
// Fastify's inject() (no port), with POST /webhooks/mailjet enabled by `secret`.
// Call at the top of a test file, after useScenario().
import { afterAll, beforeAll } from 'vitest';
import { connect, type Db } from '../../src/db/connect.ts';
import { buildServer, type Server } from '../../src/http/server.ts';
import { createLogger } from '../../src/logger.ts';
import type { Scenario } from './scenario.ts';

export const basicAuth = (password: string) => `Basic ${Buffer.from(`mailroom:${password}`).toString('base64')}`;

export interface PostOptions {
  /** The Authorization header: the right secret by default, null for none. */
  auth?: string | null;
  contentType?: string;
}

export function useWebhookServer(s: Scenario, secret: string) {
  let db: Db;
  let server: Server;
  beforeAll(async () => {
    db = connect(s.database.url, { max: 2 });
    server = buildServer({ db, logger: createLogger({ level: 'silent' }), mailjetWebhookSecret: secret });
    await server.ready();
  });
  afterAll(async () => {
    await server?.close();
    await db?.close();
  });
  return {
    /** POST /webhooks/mailjet: objects go as JSON, strings and buffers as they are. */
    post(payload: unknown, { auth = basicAuth(secret), contentType = 'application/json' }: PostOptions = {}) {
      return server.inject({
        method: 'POST',
        url: '/webhooks/mailjet',
        headers: { 'content-type': contentType, ...(auth ? { authorization: auth } : {}) },
        payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
      });
    },
  };
}
