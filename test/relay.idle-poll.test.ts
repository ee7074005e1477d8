// An idle relay's poll is one statement (is anything due?), not a transaction: it
// opens BEGIN / claim / COMMIT only once a row is due (issue 17: a cheaper poll,
// with no NOTIFY in the producer's commit). Every statement the relay sends is
// counted on its own pool.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { SendQueue } from '../src/queue/send-queue.ts';
import { ANY_DUE } from '../src/relay/claim.ts';
import { startRelay } from '../src/relay/relay.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { enqueueEmail } from './support/mailroom.ts';
import { waitUntil } from './support/worker.ts';

let database: TestDatabase;
let pool: pg.Pool;
let queue: SendQueue;
const sent: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
  // Count what the relay sends, whichever way (pool.query or a checked-out client).
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const first = args[0];
      sent.push(typeof first === 'string' ? first : String((first as { text?: string })?.text ?? ''));
      return query(...args);
    };
  });
  queue = SendQueue.create(database.url);
  await queue.start();
  await queue.ensure();
});
afterAll(async () => {
  await queue?.stop({ graceful: false });
  await pool?.end();
  await database?.drop();
});

it('polls with one statement while nothing is due, and claims in a transaction once a row is', async () => {
  const relay = startRelay({
    pool,
    queue,
    logger: createLogger({ level: 'silent' }),
    pollMs: 20,
    busyPollMs: 10,
    batchSize: 50,
    maxQueued: 2_000,
    jobTimeoutSeconds: 30,
    onQueued: () => {},
  });
  try {
    await waitUntil(async () => sent.length, (n) => n >= 10, 10_000, 'ten idle polls');
    const idle = [...sent];
    expect(idle.every((text) => text === ANY_DUE), idle.join('\n')).toBe(true);

    const id = await enqueueEmail(pool, { template: 'account-confirm', to: 'due@example.test', props: { token: 'token-0123456789abcdef' } });
    await waitUntil(async () => (await pool.query('select status from mailroom.outbox where id = $1', [id])).rows[0].status, (st) => st === 'queued', 10_000, 'queued');
    const after = sent.slice(idle.length);
    expect(after).toContain('begin');
    expect(after).toContain('commit');
  } finally {
    await relay.stop();
  }
});
