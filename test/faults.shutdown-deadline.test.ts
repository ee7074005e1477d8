// The last word on SIGTERM: whatever a process's stop waits on, it exits once
// the deadline (SHUTDOWN_GRACE_MS + 5 s in the CLI) has passed, with status 1 and one
// line saying so. A real child process and a real signal.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { waitUntil } from './support/worker.ts';

const SCRIPT = fileURLToPath(new URL('./fixtures/processes/shutdown-never-finishes.ts', import.meta.url));

it('a stop that never finishes: exit 1 at the deadline, one line on stderr', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], { env: { ...process.env, DEADLINE_MS: '1500' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await waitUntil(async () => stdout, (out) => out.includes('ready'), 30_000, 'the process to be ready');
    const signalledAt = Date.now();
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise<'running'>((r) => (timer = setTimeout(r, 10_000, 'running')))]);
    clearTimeout(timer);
    const tookMs = Date.now() - signalledAt;
    expect(code, stderr).toBe(1);
    expect(tookMs).toBeGreaterThanOrEqual(1_400);
    expect(tookMs).toBeLessThan(8_000);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^mailroom: .*SIGTERM.*exiting now/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
