// pg-boss behind one module (issue 17): only src/queue/ imports pg-boss or names its
// tables in SQL, so the hand-off can change there alone. Read from the sources, as
// they are, so a new file that reaches past the module fails here.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.(ts|tsx)$/.test(entry.name) ? [path] : [];
  });

it('only src/queue/ imports pg-boss or names pgboss.* in SQL', () => {
  const files = sources(join(root, 'src'));
  expect(files.length).toBeGreaterThan(30);
  const reaching = files
    .map((file) => ({ file: relative(root, file), text: readFileSync(file, 'utf8') }))
    .filter(({ file }) => !file.startsWith('src/queue/'))
    .flatMap(({ file, text }) => [
      ...(/from\s+['"]pg-boss['"]|import\(\s*['"]pg-boss['"]\s*\)/.test(text) ? [`${file}: imports pg-boss`] : []),
      ...(/\bpgboss\.\w+/.test(text) ? [`${file}: names ${/\bpgboss\.\w+/.exec(text)![0]}`] : []),
    ]);
  expect(reaching).toEqual([]);
  // And the module does hold it all.
  const queue = readFileSync(join(root, 'src/queue/send-queue.ts'), 'utf8');
  expect(queue).toMatch(/from 'pg-boss'/);
  expect(queue).toMatch(/pgboss\.job/);
});
