// The README's quick start: `mailroom dev` (what `npm start` runs) brings up an
// embedded PostgreSQL, migrates it, runs the worker with the capture transport,
// serves HTTP (probes, /metrics), prints how to enqueue, delivers into files, and
// stops cleanly on Ctrl-C.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { PRODUCT_CONFIG_FILE, runCli, spawnCli, waitUntil, type ChildWorker } from '../support/worker.ts';

let dev: ChildWorker | undefined;
let dir: string | undefined;

afterAll(async () => {
  if (dev && dev.child.exitCode === null) dev.child.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('mailroom dev runs the whole system on an embedded PostgreSQL and captures mail', async () => {
  dir = await mkdtemp(join(tmpdir(), 'mailroom-dev-'));
  await chmod(dir, 0o755); // the embedded server runs as the postgres user
  const mailDir = join(dir, 'mail');
  dev = spawnCli(['dev', '--data-dir', join(dir, 'postgres')], { DATABASE_URL: '', CAPTURE_DIR: mailDir, LOG_PRETTY: 'false', MAILROOM_CONFIG: PRODUCT_CONFIG_FILE });

  const banner = await waitUntil(async () => dev!.output(), (out) => out.includes('Stop with Ctrl-C'), 60_000, 'the dev banner');
  expect(banner).toContain(`mail lands ${mailDir}`);
  const url = /psql '([^']+)'/.exec(banner)?.[1];
  expect(url).toMatch(/^postgres:\/\//);

  const enqueue = `select mailroom.enqueue('verify-email', 'dev@example.test', '{"name": "Ada", "token": "dev-token-0123456789"}')`;
  if (spawnSync('psql', ['--version']).status === 0) {
    execFileSync('psql', [url!, '-v', 'ON_ERROR_STOP=1', '-c', enqueue], { stdio: 'pipe' });
  } else {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(enqueue);
    await client.end();
  }

  const files = await waitUntil(() => readdir(mailDir).catch(() => [] as string[]), (f) => f.some((n) => n.endsWith('.eml')) && f.some((n) => n.endsWith('.html')), 20_000, 'a captured .eml and .html');
  const eml = await readFile(join(mailDir, files.find((n) => n.endsWith('.eml'))!), 'utf8');
  expect(eml).toMatch(/^To: dev@example\.test$/m);
  expect(eml).toMatch(/^Subject: Confirm your email address$/m);
  expect(files.some((n) => n.endsWith('.html'))).toBe(true);
  // The capture transport logs after it has written both files: wait for the line, do not race it.
  await waitUntil(async () => dev!.output(), (output) => output.includes('captured email'), 10_000, 'the "captured email" log line');

  // The same process serves HTTP: probes (its worker loops included) and /metrics
  // that already counted the capture.
  const http = /^\s+http\s+(http:\/\/\S+)/m.exec(banner)?.[1];
  expect(http, banner).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect((await fetch(`${http}/readyz`)).status).toBe(200);
  const metrics = await waitUntil(
    async () => (await fetch(`${http}/metrics`)).text(),
    (text) => /^mailroom_emails_sent_total\{template="verify-email",transport="capture"\} 1$/m.test(text),
    10_000,
    'the capture counted in /metrics',
  );
  expect(metrics).toMatch(/^mailroom_outbox_backlog_rows\{status="pending"\} 0$/m);

  // The admin pages, with the token made for this run and printed in the banner.
  const adminToken = /sign in with (\S+), made for this run/.exec(banner)?.[1];
  expect(adminToken, banner).toMatch(/^[\w-]{24,}$/);
  // The sign-in form carries its own CSRF token, bound to a cookie it sets.
  const form = await fetch(`${http}/admin/login`);
  const nonce = form.headers.getSetCookie()[0]!.split(';')[0]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  const signIn = await fetch(`${http}/admin/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: nonce },
    body: new URLSearchParams({ token: adminToken!, next: '/admin', _csrf: csrf }),
  });
  expect(signIn.status).toBe(303);
  const cookie = signIn.headers.getSetCookie()[0]!.split(';')[0]!; // the session cookie comes first
  const overview = await fetch(`${http}/admin`, { headers: { cookie } });
  expect(overview.status).toBe(200);
  expect(await overview.text()).toContain('sent');

  // `mailroom captured` lists it, subject decoded, path to open.
  const captured = await runCli(['captured', '--json'], { CAPTURE_DIR: mailDir });
  expect(captured.code).toBe(0);
  expect(JSON.parse(captured.output)).toEqual([
    expect.objectContaining({ to: 'dev@example.test', subject: 'Confirm your email address', path: expect.stringMatching(/\.eml$/) }),
  ]);

  dev.child.kill('SIGINT');
  const exit = await dev.exited;
  expect(exit.code, dev.output()).toBe(0);
  expect(dev.output()).toContain('stopped');
});
