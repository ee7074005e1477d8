// Staging safety (issue 14): a staging deployment with real addresses in its
// database must not mail real people. MAIL_REDIRECT_TO sends every email to one
// address (the original recipient in a header and on the row); MAIL_ALLOWED_DOMAINS
// refuses recipients outside a list (they end `suppressed`, with the reason). Both
// through the real worker, read from the environment as `mailroom worker` reads it,
// to a real SMTP server.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { loadConfig } from '../src/cli/env.ts';
import type { RunningWorker } from '../src/cli/commands/worker.ts';
import { resolveWorkerSettings } from '../src/worker/settings.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { enqueueEmail } from './support/mailroom.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';
import { spawnCli, startInProcessWorker, testEnv, waitUntil } from './support/worker.ts';

let database: TestDatabase;
let pool: pg.Pool;
let sink: SmtpSink;
let worker: RunningWorker | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 3 });
  sink = await startSmtpSink();
});
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
});
afterAll(async () => {
  await pool?.end();
  await sink?.close();
  await database?.drop();
});

const TERMINAL = ['sent', 'failed', 'suppressed', 'expired', 'cancelled'];

async function deliver(env: Record<string, string>, recipients: string[]) {
  worker = await startInProcessWorker(testEnv(database.url, sink.url, env));
  const ids: string[] = [];
  for (const to of recipients) ids.push(await enqueueEmail(pool, { template: 'account-confirm', to, props: { token: `staging-token-${ids.length}-0123456789`, name: 'Ada' } }));
  return waitUntil(
    async () => (await pool.query('select id, recipient, status, last_error from mailroom.outbox where id = any($1) order by recipient', [ids])).rows,
    (rows) => rows.length === ids.length && rows.every((r) => TERMINAL.includes(r.status)),
  );
}

const attemptsOf = async (recipient: string) =>
  (await pool.query('select a.outcome, a.sent_to from mailroom.delivery_attempt a join mailroom.outbox o on o.id = a.outbox_id where o.recipient = $1', [recipient])).rows;

describe('MAIL_REDIRECT_TO', () => {
  it('sends an email to a real-looking address to the redirect address only, keeping the original in a header and on the rows', async () => {
    const rows = await deliver({ MAIL_REDIRECT_TO: 'qa-inbox@staging.example' }, ['ceo@bigcorp.com']);
    expect(rows).toEqual([expect.objectContaining({ recipient: 'ceo@bigcorp.com', status: 'sent' })]);
    expect(sink.messagesTo('ceo@bigcorp.com')).toEqual([]);
    expect(sink.messages.flatMap((m) => m.recipients)).not.toContain('ceo@bigcorp.com');
    const [message] = sink.messagesTo('qa-inbox@staging.example');
    expect(message!.recipients).toEqual(['qa-inbox@staging.example']);
    expect(message!.headers.get('x-mailroom-original-to')).toBe('ceo@bigcorp.com');
    expect(message!.parsed.to).toMatchObject({ text: 'qa-inbox@staging.example' });
    expect(await attemptsOf('ceo@bigcorp.com')).toEqual([{ outcome: 'sent', sent_to: 'qa-inbox@staging.example' }]);
    // The query docs/operations.md gives for "which emails were redirected".
    const section = readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8').split('## Staging safety')[1]!.split('\n## ')[0]!;
    const query = /```sql\n([\s\S]*?)```/.exec(section)![1]!;
    const { rows: redirected } = await pool.query(query);
    expect(redirected).toEqual([expect.objectContaining({ recipient: 'ceo@bigcorp.com', sent_to: 'qa-inbox@staging.example', template: 'account-confirm' })]);
  });
});

describe('MAIL_ALLOWED_DOMAINS', () => {
  it('sends to recipients in the listed domains, and ends the others suppressed with the reason, without a send', async () => {
    const before = sink.messages.length;
    const rows = await deliver({ MAIL_ALLOWED_DOMAINS: 'Staging.Example, team.example' }, ['dev@staging.example', 'ops@TEAM.example', 'customer@gmail.com', 'x@sub.staging.example']);
    expect(rows.map((r) => [r.recipient, r.status])).toEqual([
      ['customer@gmail.com', 'suppressed'],
      ['dev@staging.example', 'sent'],
      ['ops@TEAM.example', 'sent'],
      ['x@sub.staging.example', 'suppressed'],
    ]);
    expect(rows[0].last_error).toMatch(/MAIL_ALLOWED_DOMAINS/);
    const received = sink.messages.slice(before).flatMap((m) => m.recipients).sort();
    expect(received).toEqual(['dev@staging.example', 'ops@team.example']);
    expect(await attemptsOf('customer@gmail.com')).toEqual([]);
    expect(await attemptsOf('dev@staging.example')).toEqual([{ outcome: 'sent', sent_to: null }]);
  });

  it('with MAIL_REDIRECT_TO too: recipients inside get their own email, the others go to the redirect address', async () => {
    const before = sink.messages.length;
    const rows = await deliver({ MAIL_ALLOWED_DOMAINS: 'staging.example', MAIL_REDIRECT_TO: 'catch-all@staging.example' }, ['dev2@staging.example', 'someone@yahoo.com']);
    expect(rows.map((r) => r.status)).toEqual(['sent', 'sent']);
    const received = sink.messages.slice(before);
    expect(received.map((m) => [m.recipients, m.headers.get('x-mailroom-original-to') ?? null]).sort()).toEqual([
      [['catch-all@staging.example'], 'someone@yahoo.com'],
      [['dev2@staging.example'], null],
    ]);
  });
});

describe('start-up', () => {
  it('names the variable of a bad value, and startWorker names the setting', () => {
    expect(() => loadConfig({ MAIL_REDIRECT_TO: 'not an address' })).toThrow(/MAIL_REDIRECT_TO.*must be one email address/);
    expect(() => loadConfig({ MAIL_ALLOWED_DOMAINS: 'example.com,,x' })).toThrow(/MAIL_ALLOWED_DOMAINS.*comma-separated list of domains/);
    expect(() => loadConfig({ MAIL_ALLOWED_DOMAINS: 'example.com;other.com' })).toThrow(/MAIL_ALLOWED_DOMAINS/);
    expect(() => resolveWorkerSettings({ staging: { redirectTo: 'a@b' } })).toThrow(/staging\.redirectTo must be an email address/);
    expect(() => resolveWorkerSettings({ staging: { allowedDomains: [] } })).toThrow(/staging\.allowedDomains must be a non-empty list/);
    expect(() => resolveWorkerSettings({ staging: { allowedDomains: ['ok.example', 'http://x'] } })).toThrow(/staging\.allowedDomains holds "http:\/\/x"/);
    expect(resolveWorkerSettings({ staging: { allowedDomains: ['OK.example'] } }).staging).toEqual({ redirectTo: null, allowedDomains: ['ok.example'] });
  });

  it('is loud: `mailroom worker` warns at start that emails are redirected', async () => {
    const run = spawnCli(['worker'], testEnv(database.url, sink.url, { LOG_LEVEL: 'info', MAIL_REDIRECT_TO: 'qa-inbox@staging.example' }));
    try {
      await waitUntil(async () => run.output(), (output) => /every email is redirected to qa-inbox@staging\.example/.test(output), 20_000, 'the staging warning');
      const line = run.output().split('\n').find((l) => l.includes('redirected to'))!;
      expect(JSON.parse(line)).toMatchObject({ level: 40 });
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  });
});
