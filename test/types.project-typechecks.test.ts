// The whole project compiles under `strict`, including test/fixtures/enqueue-typing.ts,
// which proves that enqueueEmail refuses unknown templates and mistyped props at
// compile time.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

it('tsc --noEmit passes, so every misuse in the typing fixture is a compile error', () => {
  const result = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '--noEmit', '-p', root], {
    encoding: 'utf8',
  });
  expect(result.stdout + result.stderr).toBe('');
  expect(result.status).toBe(0);
});
