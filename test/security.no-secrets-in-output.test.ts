// Complements test/logs.no-secrets.test.ts (tokens in a worker's log at trace
// level): here every configured secret too (the database and SMTP passwords, the
// Mailjet key, secret and webhook secret), through a run with real sends, refusals,
// retries and lost database connections (errors are logged with their causes), and
// through the CLI commands an operator runs afterwards, including their error paths.
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { freePort } from '../src/db/embedded-postgres.ts';
import { enqueueEmail } from './support/mailroom.ts';
import { useScenario } from './support/scenario.ts';
import { runCli, spawnCli, waitUntil } from './support/worker.ts';

const s = useScenario();
const hex = () => randomBytes(8).toString('hex');

it('no token and no configured secret in the output of a worker (trace level, lost connections) or of the CLI', { timeout: 180_000 }, async () => {
  // The database password: the one in the URL, or (a server that trusts local
  // connections) one we add, which the server ignores but mailroom must not print.
  const databaseUrl = new URL(s.database.url);
  if (!databaseUrl.password) databaseUrl.password = `db-password-${hex()}`;
  const secrets: Record<string, string> = {
    'database password': decodeURIComponent(databaseUrl.password),
    'SMTP password': `smtp-password-${hex()}`,
    MAILJET_API_KEY: `mj-key-${hex()}`,
    MAILJET_API_SECRET: `mj-secret-${hex()}`,
    MAILJET_WEBHOOK_SECRET: `mj-webhook-secret-${hex()}`,
  };
  // A short password (e.g. "postgres") is a word that appears anyway: check only distinctive ones.
  if (secrets['database password']!.length < 12) delete secrets['database password'];
  const sink = new URL(s.sink.url);
  const env = s.env({
    DATABASE_URL: databaseUrl.toString(),
    SMTP_URL: `smtp://mailroom:${encodeURIComponent(secrets['SMTP password']!)}@${sink.host}`,
    MAILJET_API_KEY: secrets.MAILJET_API_KEY!,
    MAILJET_API_SECRET: secrets.MAILJET_API_SECRET!,
    MAILJET_WEBHOOK_SECRET: secrets.MAILJET_WEBHOOK_SECRET!,
    LOG_LEVEL: 'trace',
    RETRY_BASE_MS: '100',
    WORKER_PORT: String(await freePort()),
  });

  const tokens: string[] = [];
  const ids: string[] = [];
  const enqueue = async (to: string) => {
    const token = `secret-token-${hex()}${hex()}`;
    tokens.push(token);
    ids.push(await enqueueEmail(s.pool, { template: 'team-invite', to, props: { token, inviterName: 'Ada', teamName: 'Lovelaces' } }));
  };
  s.sink.respond('refused@example.test', 550);
  s.sink.respond('later@example.test', [451, 451]);
  for (const to of ['ok@example.test', 'refused@example.test', 'later@example.test']) await enqueue(to);

  const worker = spawnCli(['worker'], env);
  const settled = () => waitUntil(
    async () => (await s.pool.query(`select count(*)::int as n from mailroom.outbox where id = any($1) and status in ('sent', 'failed')`, [ids])).rows[0].n,
    (n) => n === ids.length,
    60_000,
    'every row sent or failed',
  ).catch((error: Error) => { throw new Error(`${error.message}\n${worker.output().slice(-3000)}`); });
  await settled();

  // The database drops every connection of the worker (as at a restart or failover),
  // twice, while mail keeps coming; errors get logged with their causes.
  for (let round = 0; round < 2; round++) {
    await s.pool.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name like 'mailroom-%' and pid <> pg_backend_pid()`,
    );
    for (let i = 0; i < 3; i++) await enqueue(`after-${round}-${i}@example.test`);
    await settled();
  }
  await fetch(`http://127.0.0.1:${env.WORKER_PORT}/readyz`);
  worker.child.kill('SIGTERM');
  expect((await worker.exited).code, worker.output().slice(-3000)).toBe(0);

  // What an operator runs afterwards, and the error paths that print connection details.
  const [sentId, failedId] = ids;
  const unreachable = `postgres://mailroom:${encodeURIComponent(secrets.MAILJET_API_SECRET!)}@127.0.0.1:${await freePort()}/nowhere`;
  const commands: [string[], Record<string, string>][] = [
    [['status'], env],
    [['list', '--json'], env],
    [['show', sentId!], env],
    [['show', failedId!, '--json'], env],
    [['replay', failedId!, '--dry-run'], env],
    [['show', failedId!], { ...env, DATABASE_URL: unreachable }],
    [['worker'], { ...env, SMTP_URL: `ftp://mailroom:${secrets['SMTP password']}@example.test` }],
    [['worker'], { ...env, MAILJET_API_SECRET: `${secrets.MAILJET_API_SECRET} with spaces` }],
  ];
  const cli: { code: number | null; output: string }[] = [];
  for (let i = 0; i < commands.length; i += 2) {
    cli.push(...(await Promise.all(commands.slice(i, i + 2).map(([args, runEnv]) => runCli(args, runEnv)))));
  }
  for (const run of cli.slice(0, 5)) expect(run.code, run.output).toBe(0);
  for (const run of cli.slice(5)) expect(run.code, run.output).toBe(1);

  const outputs = { worker: worker.output(), ...Object.fromEntries(cli.map((run, i) => [`cli #${i + 1}`, run.output])) };
  expect(outputs.worker).toContain('"msg":"sent"');
  expect(outputs.worker).toMatch(/terminating connection|Connection terminated/);
  for (const [where, output] of Object.entries(outputs)) {
    for (const token of tokens) expect(output.includes(token), `token in the output of ${where}`).toBe(false);
    for (const [name, secret] of Object.entries(secrets)) {
      const at = output.indexOf(secret);
      expect(at, `${name} in the output of ${where}: ...${output.slice(Math.max(0, at - 300), at + 100)}`).toBe(-1);
    }
  }
});
