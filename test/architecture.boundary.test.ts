// The line between the library and its first user. src/ is mailroom: it imports
// nothing of the product (emails/, app/, mailroom.config.ts). The product uses
// mailroom only as an outside app would: through the package's public entry points
// (package.json `exports`), never a file under src/.
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const entryPoints = Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).exports as Record<string, unknown>)
  .filter((key) => key !== './package.json')
  .map((key) => `mailroom${key.slice(1)}`);

const PRODUCT = ['emails', 'app', 'mailroom.config.ts'];
const isProduct = (path: string) => PRODUCT.some((p) => path === p || path.startsWith(`${p}/`));

/** Every module specifier a file imports (static, dynamic and re-exports). */
export function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/g)) found.push(m[1]!);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) found.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(m[1]!);
  return found;
}

/** What a file may not import, as messages (empty: all is well). */
export function violations(file: string, text: string): string[] {
  const problems: string[] = [];
  for (const specifier of specifiers(text)) {
    const target = specifier.startsWith('.') ? relative(root, resolve(root, dirname(file), specifier)) : undefined;
    if (file.startsWith('src/')) {
      if (target !== undefined && !target.startsWith('src/') && !target.startsWith('migrations')) problems.push(`${file} imports ${specifier} (outside the library)`);
      if (target === undefined && /^mailroom(\/|$)/.test(specifier)) problems.push(`${file} imports ${specifier} (the library importing itself by name)`);
    } else if (isProduct(file)) {
      if (target !== undefined && !isProduct(target)) problems.push(`${file} imports ${specifier}: the product may reach mailroom only through its entry points`);
      if (target === undefined && /^mailroom(\/|$)/.test(specifier) && !entryPoints.includes(specifier)) {
        problems.push(`${file} imports ${specifier}, which is not a public entry point (${entryPoints.join(', ')})`);
      }
    }
  }
  return problems;
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(root, dir), { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.(ts|tsx|js|mjs)$/.test(e.name))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

describe('the library and the product', () => {
  it('src/ imports nothing of the product, and the product imports only public entry points', async () => {
    const files = [...(await sourceFiles('src')), ...(await sourceFiles('emails')), ...(await sourceFiles('app')), 'mailroom.config.ts'];
    expect(files.filter((f) => f.startsWith('src/')).length).toBeGreaterThan(50);
    expect(files.filter(isProduct).length).toBeGreaterThan(30);
    const problems: string[] = [];
    for (const file of files) problems.push(...violations(file, await readFile(join(root, file), 'utf8')));
    expect(problems).toEqual([]);
  });

  it('the product does use mailroom through its entry points', async () => {
    const text = await readFile(join(root, 'mailroom.config.ts'), 'utf8');
    expect(specifiers(text)).toContain('mailroom');
  });

  it('the check catches each kind of crossing', () => {
    expect(violations('src/templates/x.ts', `import * as e from '../../emails/verify-email.tsx';`)).toHaveLength(1);
    expect(violations('src/cli/x.ts', `const a = await import('../../app/index.ts');`)).toHaveLength(1);
    expect(violations('src/x.ts', `import config from '../mailroom.config.ts';`)).toHaveLength(1);
    expect(violations('app/x.ts', `import { run } from '../src/outbox/executor.ts';`)).toHaveLength(1);
    expect(violations('emails/x.ts', `export { a } from 'mailroom/dist/outbox/executor.js';`)).toHaveLength(1);
    expect(violations('emails/x.ts', `import { defineTemplate } from 'mailroom';\nimport { a } from './components/a.ts';`)).toEqual([]);
    expect(violations('app/x.ts', `import { mailroomTesting } from 'mailroom/testing';`)).toEqual([]);
  });
});
