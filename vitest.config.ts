import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The product (emails/, app/, mailroom.config.ts) imports 'mailroom' and its
// subpaths like any app. In this repository they resolve to the TypeScript source
// (each export's `mailroom-source` target in package.json), never to a stale dist/.
const root = fileURLToPath(new URL('.', import.meta.url));
const { exports } = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { exports: Record<string, string | Record<string, string>> };
const alias = Object.entries(exports)
  .filter(([, target]) => typeof target === 'object' && target['mailroom-source'])
  .map(([subpath, target]) => ({
    find: new RegExp(`^mailroom${subpath.slice(1).replace(/[/]/g, '\\/')}$`),
    replacement: root + (target as Record<string, string>)['mailroom-source']!.slice(2),
  }));

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['test/**/*.test.ts'],
    // One PostgreSQL per run (TEST_DATABASE_URL, Testcontainers or embedded) and a
    // migrated template database that each file clones: see test/setup/global-setup.ts.
    globalSetup: ['test/setup/global-setup.ts'],
    // The closing `N passed, N failed[, N skipped]` line CI greps comes last.
    reporters: ['default', './test/setup/closing-line-reporter.ts'],
    // Separate processes: tests start workers, spawn the CLI and kill children.
    pool: 'forks',
    // Two cores: two files at a time, each with its own database, worker and SMTP sink.
    maxWorkers: 2,
    // Real databases, SMTP and child processes: generous, but a hang still ends.
    testTimeout: 90_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
  },
});
