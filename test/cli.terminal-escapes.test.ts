// What the database holds reaches an operator's terminal through the CLI: a signup
// name with escape codes (it passes the templates' one-line rule) ends up in a
// subject, a provider's error text in last_error and the attempt rows, an address
// from a webhook in the suppression list. The human-readable output of `list`,
// `show`, `captured` and `suppress list` shows those control characters escaped
// as JSON writes them (\u001b, \b, \u009b, \u2028), never raw; `--json` stays JSON
// with the values intact.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { enqueueEmail } from './support/mailroom.ts';
import { runCli, startInProcessWorker, testEnv, waitUntil } from './support/worker.ts';

// ESC [31m (red), an OSC that retitles the window ending in BEL, CSI as one C1
// character, DEL, a backspace, the two Unicode line separators, a vertical tab, a
// right-to-left override.
const HOSTILE = 'Mallory\u001b[31m\u001b]0;pwned\u0007\u009b2J\u007f\b\u2028\u2029\u000b\u202eend';
/** How it reads once escaped, in plain fields and inside JSON alike. */
const SHOWN = 'Mallory\\u001b[31m\\u001b]0;pwned\\u0007\\u009b2J\\u007f\\b\\u2028\\u2029\\u000b\\u202eend';
/** Anything a terminal may act on: C0 but the line feed, DEL, C1, U+2028/2029, bidi overrides. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

let db: TestDatabase;
let pool: pg.Pool;
let captureDir: string;
let sentId: string;
let failedId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  captureDir = await mkdtemp(join(tmpdir(), 'mailroom-escapes-'));

  // The subject path, end to end: enqueue as an app does, send with the capture transport.
  sentId = await enqueueEmail(pool, { template: 'account-confirm', to: 'ada@example.test', props: { token: 'tok-0123456789abcdef', name: HOSTILE } });
  const worker = await startInProcessWorker(testEnv(db.url, 'smtp://127.0.0.1:9', { MAIL_TRANSPORT: 'capture', CAPTURE_DIR: captureDir }));
  try {
    await waitUntil(
      async () => (await pool.query('select status from mailroom.outbox where id = $1', [sentId])).rows[0]?.status,
      (status) => status === 'sent',
      20_000,
      'the hostile email sent to the capture folder',
    );
  } finally {
    await worker.stop();
  }

  // Text from outside (a provider's reply, a webhook's address), written as it arrives.
  failedId = await enqueueEmail(pool, { template: 'account-notice', to: 'bob@example.test', props: { changedAt: '2026-11-28T12:34:00Z' } });
  await pool.query(`update mailroom.outbox set status = 'failed', attempts = 1, recipient = $2, last_error = $3 where id = $1`, [
    failedId,
    `bob${HOSTILE}@example.test`,
    `550 ${HOSTILE}`,
  ]);
  await pool.query(
    `insert into mailroom.delivery_attempt (outbox_id, attempt, transport, outcome, error_class, response_code, response, error_message, started_at)
     values ($1, 1, 'smtp', 'failed', 'permanent', 550, $2, $3, now())`,
    [failedId, `5.1.1 ${HOSTILE}`, `rejected: ${HOSTILE}\nsecond line`],
  );
  await pool.query(`insert into mailroom.suppression (address, reason, source) values ($1, $2, $3)`, [
    `eve${HOSTILE.toLowerCase()}@example.test`,
    `complaint ${HOSTILE}`,
    `webhook${HOSTILE}`,
  ]);
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
  if (captureDir) await rm(captureDir, { recursive: true, force: true });
});

const cli = (args: string[]) => runCli(args, { DATABASE_URL: db.url, CAPTURE_DIR: captureDir, LOG_LEVEL: 'silent' });

function expectEscaped(output: string, command: string) {
  const raw = CONTROL.exec(output);
  expect(raw, `${command} printed U+${raw?.[0].codePointAt(0)!.toString(16).padStart(4, '0')} raw:\n${JSON.stringify(output)}`).toBeNull();
  // Escaped, not dropped: the operator sees what is there.
  expect(output, command).toContain(SHOWN);
}

describe('human-readable output escapes control characters', () => {
  it('mailroom list', async () => {
    const { code, output } = await cli(['list']);
    expect(code, output).toBe(0);
    expectEscaped(output, 'list');
    // One line per row: an escaped separator cannot split a row.
    expect(output.trim().split('\n')).toHaveLength(2);
  });

  it('mailroom show (props, last error, attempts)', async () => {
    for (const id of [sentId, failedId]) {
      const { code, output } = await cli(['show', id]);
      expect(code, output).toBe(0);
      expectEscaped(output, `show ${id}`);
    }
    const { output } = await cli(['show', failedId]);
    // The attempt's two-line error stays on its attempt's line.
    expect(output).toMatch(/^ {2}#1 .* smtp failed \(permanent\) 550 5\.1\.1 Mallory.*end$/m);
  });

  it('mailroom captured (the subject a signup name went into)', async () => {
    const { code, output } = await cli(['captured']);
    expect(code, output).toBe(0);
    expectEscaped(output, 'captured');
    expect(output).toContain(', confirm your email address');
  });

  it('mailroom suppress list', async () => {
    const { code, output } = await cli(['suppress', 'list']);
    expect(code, output).toBe(0);
    expectEscaped(output, 'suppress list');
  });
});

describe('--json output is JSON and keeps the values as they are', () => {
  it('list, show, captured and suppress list', async () => {
    const list = JSON.parse((await cli(['list', '--json'])).output) as Array<{ id: string; last_error: string | null }>;
    expect(list.find((r) => r.id === failedId)!.last_error).toBe(`550 ${HOSTILE}`);
    const shown = JSON.parse((await cli(['show', sentId, '--json'])).output) as { row: { props: { name: string } } };
    expect(shown.row.props.name).toBe(HOSTILE);
    const captured = JSON.parse((await cli(['captured', '--json'])).output) as Array<{ subject: string }>;
    expect(captured[0]!.subject).toBe(`${HOSTILE}, confirm your email address`);
    const suppressed = JSON.parse((await cli(['suppress', 'list', '--json'])).output) as Array<{ reason: string }>;
    expect(suppressed[0]!.reason).toBe(`complaint ${HOSTILE}`);
  });
});
