// `npm start` after a crash: `mailroom dev` killed with SIGKILL leaves its embedded
// PostgreSQL running on the data folder. The next `mailroom dev` on that folder
// stops the one left behind (fast shutdown), starts its own on the same data (what
// the first run stored is still there), prints its welcome, serves, and a SIGTERM
// then stops it and its PostgreSQL. A server still in use by a live `mailroom dev`
// is left alone, and so is a postmaster.pid naming a live process that is not this
// folder's PostgreSQL: the run stops with one line saying what to do. A
// postmaster.pid of a dead process is cleared.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PRODUCT_CONFIG_FILE, spawnCli, waitUntil, type ChildWorker } from '../support/worker.ts';

let dir: string;
let dataDir: string;
const children: ChildWorker[] = [];
const strays: ChildProcess[] = [];
const postgresPids = new Set<number>();

/** Running and not a zombie (an orphan's exit may wait for PID 1 to reap it). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ...": the state after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function postmasterPid(): Promise<number> {
  const pid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  postgresPids.add(pid);
  return pid;
}

function dev(): ChildWorker {
  const run = spawnCli(['dev', '--data-dir', dataDir], {
    DATABASE_URL: '',
    CAPTURE_DIR: join(dir, 'mail'),
    LOG_PRETTY: 'false',
    LOG_LEVEL: 'info',
    MAILROOM_CONFIG: PRODUCT_CONFIG_FILE,
  });
  children.push(run);
  return run;
}

/** Each test starts from a data folder no server runs on, whatever an earlier test left. */
async function stopLeftServers() {
  for (const pid of postgresPids) if (isRunning(pid)) process.kill(pid, 'SIGINT');
  await waitUntil(async () => [...postgresPids].filter(isRunning), (left) => left.length === 0, 20_000, 'leftover PostgreSQL to exit');
}

const banner = (run: ChildWorker) => waitUntil(async () => run.output(), (out) => out.includes('Stop with Ctrl-C') || run.child.exitCode !== null, 90_000, 'the dev banner');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mailroom-dev-crash-'));
  await chmod(dir, 0o755); // the embedded server runs as the postgres user
  dataDir = join(dir, 'postgres');
});

afterAll(async () => {
  for (const run of children) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  for (const stray of strays) stray.kill('SIGKILL');
  // Whatever PostgreSQL a failed run left behind.
  for (const pid of postgresPids) if (isRunning(pid)) process.kill(pid, 'SIGQUIT');
  await waitUntil(async () => [...postgresPids].filter(isRunning), (left) => left.length === 0, 10_000, 'leftover PostgreSQL to exit').catch(() => {});
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('a second mailroom dev after the first was killed with SIGKILL stops the PostgreSQL it left and starts as usual', async () => {
  const first = dev();
  const firstBanner = await banner(first);
  expect(firstBanner, first.output()).toContain('Stop with Ctrl-C');
  const url = /psql '([^']+)'/.exec(firstBanner)![1]!;
  // Something to find again: the second run must use the same data, not a fresh folder.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('create table public.left_by_the_first_run (note text)');
  await client.query(`insert into public.left_by_the_first_run values ('still here')`);
  await client.end();
  const leftPid = await postmasterPid();

  first.child.kill('SIGKILL');
  await first.exited;
  // The crash: the dev process is gone, its PostgreSQL is not.
  await new Promise((r) => setTimeout(r, 500));
  expect(isRunning(leftPid), 'the embedded PostgreSQL outlives a SIGKILLed mailroom dev').toBe(true);
  expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(true);

  const second = dev();
  const secondBanner = await banner(second);
  expect(secondBanner, second.output()).toContain('Stop with Ctrl-C');
  expect(second.output()).not.toMatch(/^\s+at /m); // no stack trace
  expect(isRunning(leftPid), 'the PostgreSQL left behind was stopped').toBe(false);
  const ownPid = await postmasterPid();
  expect(ownPid).not.toBe(leftPid);

  // It serves, on the same data.
  const http = /^\s+http\s+(http:\/\/\S+)/m.exec(secondBanner)?.[1];
  expect(http, secondBanner).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect((await fetch(`${http}/readyz`)).status).toBe(200);
  const secondUrl = /psql '([^']+)'/.exec(secondBanner)![1]!;
  const again = new pg.Client({ connectionString: secondUrl });
  await again.connect();
  const { rows } = await again.query('select note from public.left_by_the_first_run');
  await again.end();
  expect(rows).toEqual([{ note: 'still here' }]);

  // And a SIGTERM stops it and its PostgreSQL.
  second.child.kill('SIGTERM');
  const exit = await second.exited;
  expect(exit.code, second.output()).toBe(0);
  expect(second.output()).toContain('stopped');
  await waitUntil(async () => isRunning(ownPid), (running) => !running, 10_000, 'the second run\'s PostgreSQL to exit');
  expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
});

it('a second mailroom dev while the first still runs leaves the first alone: one line saying what to do', async () => {
  await stopLeftServers();
  const first = dev();
  expect(await banner(first), first.output()).toContain('Stop with Ctrl-C');
  const pid = await postmasterPid();

  const second = dev();
  const exit = await second.exited;
  expect(exit.code, second.output()).toBe(1);
  const errors = second.output().split('\n').filter((line) => line.startsWith('mailroom: '));
  expect(errors, second.output()).toEqual([expect.stringMatching(new RegExp(`PostgreSQL \\(pid ${pid}\\) on .* is in use by process ${first.child.pid} .*--data-dir`))]);
  expect(second.output()).not.toMatch(/^\s+at /m);

  // The first one never noticed.
  expect(isRunning(pid)).toBe(true);
  const http = /^\s+http\s+(http:\/\/\S+)/m.exec(first.output())![1]!;
  expect((await fetch(`${http}/readyz`)).status).toBe(200);
  first.child.kill('SIGTERM');
  expect((await first.exited).code, first.output()).toBe(0);
  await waitUntil(async () => isRunning(pid), (running) => !running, 10_000, 'its PostgreSQL to exit');
});

it('a postmaster.pid of a process that is gone is cleared, and dev starts', async () => {
  await stopLeftServers();
  // A pid that was alive once and is not any more.
  const gone = spawn('true');
  await new Promise((r) => gone.on('exit', r));
  await writeFile(join(dataDir, 'postmaster.pid'), `${gone.pid}\n${dataDir}\n1764547200\n54329\n/tmp\n127.0.0.1\n  1234567     98304\nready   \n`);

  const run = dev();
  const out = await banner(run);
  expect(out, run.output()).toContain('Stop with Ctrl-C');
  const pid = await postmasterPid();
  expect(pid).not.toBe(gone.pid);
  run.child.kill('SIGTERM');
  expect((await run.exited).code, run.output()).toBe(0);
  await waitUntil(async () => isRunning(pid), (running) => !running, 10_000, 'its PostgreSQL to exit');
});

it('a postmaster.pid naming a live process that is not this folder\'s PostgreSQL: one line saying what to do, nothing killed', async () => {
  await stopLeftServers();
  const stranger = spawn('sleep', ['120']);
  strays.push(stranger);
  await writeFile(join(dataDir, 'postmaster.pid'), `${stranger.pid}\n${dataDir}\n1764547200\n54329\n/tmp\n127.0.0.1\n  1234567     98304\nready   \n`);

  const run = dev();
  const exit = await run.exited;
  expect(exit.code, run.output()).toBe(1);
  const errors = run.output().split('\n').filter((line) => line.startsWith('mailroom: '));
  expect(errors, run.output()).toHaveLength(1);
  expect(errors[0]).toContain(join(dataDir, 'postmaster.pid'));
  expect(errors[0]).toContain(String(stranger.pid));
  expect(errors[0]).toMatch(/delete|remove/);
  expect(run.output()).not.toMatch(/^\s+at /m);
  expect(isRunning(stranger.pid!), 'a process that is not ours is never signalled').toBe(true);
  expect(existsSync(join(dataDir, 'postmaster.pid')), 'its postmaster.pid is left for the user to judge').toBe(true);
});
