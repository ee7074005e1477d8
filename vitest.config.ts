import { defineConfig } from 'vitest/config';

export default defineConfig({
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
