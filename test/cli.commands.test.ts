// The CLI as an operator meets it: help, clear errors for bad flags and settings,
// status / list / show / cancel against a real database.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueEmail } from './support/mailroom.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { runCli } from './support/worker.ts';

let database: TestDatabase;
let pool: pg.Pool;
let env: Record<string, string>;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url });
  env = { DATABASE_URL: database.url };
});
afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

const props = { name: 'Ada', token: 'secret-token-0123456789' };

describe('mailroom CLI', () => {
  it('prints help listing every command', async () => {
    const { code, output } = await runCli(['--help'], {});
    expect(code).toBe(0);
    for (const command of ['migrate', 'worker', 'dev', 'status', 'list', 'show', 'replay', 'cancel']) expect(output).toContain(command);
  });

  it('refuses to start a worker with a missing setting, naming the variable', async () => {
    const { code, output } = await runCli(['worker'], { ...env, MAIL_TRANSPORT: 'smtp', SMTP_URL: '' });
    expect(code).toBe(1);
    expect(output).toContain('SMTP_URL is required when MAIL_TRANSPORT=smtp');
  });

  it('refuses a malformed setting, naming the variable', async () => {
    const { code, output } = await runCli(['worker'], { ...env, RELAY_POLL_MS: 'soon' });
    expect(code).toBe(1);
    expect(output).toMatch(/configuration error: RELAY_POLL_MS/);
  });

  it('refuses a FRONTEND_BASE_URL that is not an absolute http(s) URL', async () => {
    const { code, output } = await runCli(['worker'], { ...env, FRONTEND_BASE_URL: 'circles.example/app' });
    expect(code).toBe(1);
    expect(output).toContain('configuration error: FRONTEND_BASE_URL must be an absolute http(s) URL');
  });

  it('previews a template in a second locale, and names an unknown one', async () => {
    const fr = await runCli(['preview', 'account-confirm', '--text', '--locale', 'fr'], { FRONTEND_BASE_URL: 'https://circles.example' });
    expect(fr.code).toBe(0);
    expect(fr.output).toContain('Subject: Ada, confirmez votre adresse e-mail');
    expect(fr.output).toContain('https://circles.example/verify?token=preview-token-0123456789');
    const unknown = await runCli(['preview', 'no-such-email'], {});
    expect(unknown.code).toBe(1);
    expect(unknown.output).toContain('template: unknown template "no-such-email"');
  });

  it('needs DATABASE_URL for outbox commands', async () => {
    const { code, output } = await runCli(['status'], { DATABASE_URL: '' });
    expect(code).toBe(1);
    expect(output).toContain('DATABASE_URL');
  });

  it('shows a row with its token link masked, and lists it', async () => {
    const id = await enqueueEmail(pool, { template: 'account-confirm', to: 'shown@example.test', props });
    const show = await runCli(['show', id], env);
    expect(show.code).toBe(0);
    expect(show.output).toContain('shown@example.test');
    expect(show.output).toContain('[sensitive]');
    expect(show.output).not.toContain('secret-token');

    const list = await runCli(['list', '--status', 'pending', '--json'], env);
    expect(JSON.parse(list.output).map((r: { id: string }) => r.id)).toContain(id);

    const status = await runCli(['status', '--json'], env);
    expect(JSON.parse(status.output).byStatus.pending).toBeGreaterThanOrEqual(1);
  });

  it('cancels a pending row, and refuses to cancel it twice', async () => {
    const id = await enqueueEmail(pool, { template: 'account-confirm', to: 'cancel@example.test', props });
    const first = await runCli(['cancel', id], env);
    expect(first).toMatchObject({ code: 0 });
    expect((await pool.query('select status from mailroom.outbox where id = $1', [id])).rows[0].status).toBe('cancelled');
    const second = await runCli(['cancel', id], env);
    expect(second.code).toBe(1);
    expect(second.output).toContain('is cancelled');
  });

  it('cancels by filter: a dry run lists, the real run cancels only unsent rows of that filter', async () => {
    const doomed = [
      await enqueueEmail(pool, { template: 'account-confirm', to: 'bulk-cancel-1@example.test', props }),
      await enqueueEmail(pool, { template: 'account-confirm', to: 'bulk-cancel-2@example.test', props }),
    ];
    const other = await enqueueEmail(pool, { template: 'account-notice', to: 'keep@example.test', props: { name: 'Ada', changedAt: new Date().toISOString() } });
    const filter = ['--template', 'account-confirm', '--status', 'pending'];
    const dry = await runCli(['cancel', ...filter, '--dry-run', '--json'], env);
    expect(dry.code, dry.output).toBe(0);
    expect(JSON.parse(dry.output).matched).toEqual(expect.arrayContaining(doomed));
    expect((await pool.query('select status from mailroom.outbox where id = $1', [doomed[0]])).rows[0].status).toBe('pending');

    const real = await runCli(['cancel', ...filter, '--json'], env);
    expect(real.code, real.output).toBe(0);
    expect(JSON.parse(real.output).cancelled).toEqual(expect.arrayContaining(doomed));
    const { rows } = await pool.query('select id, status from mailroom.outbox where id = any($1)', [[...doomed, other]]);
    expect(Object.fromEntries(rows.map((r) => [r.id, r.status]))).toEqual({ [doomed[0]!]: 'cancelled', [doomed[1]!]: 'cancelled', [other]: 'pending' });

    const both = await runCli(['cancel', other, '--template', 'account-confirm'], env);
    expect(both.code).toBe(1);
    expect(both.output).toContain('not both');
  });

  it('names the bad argument: an id that is not a UUID, a bad duration', async () => {
    const badId = await runCli(['show', "1' or '1'='1"], env);
    expect(badId.code).toBe(1);
    expect(badId.output).toContain('id: "1\' or \'1\'=\'1" is not an outbox id');
    const badSince = await runCli(['replay', '--status', 'failed', '--since', 'yesterday'], env);
    expect(badSince.code).toBe(1);
    expect(badSince.output).toContain('--since');
  });
});
