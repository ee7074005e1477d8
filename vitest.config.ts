import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    reporters: ['default', './test/setup/closing-line-reporter.ts'],
    pool: 'forks',
    // Two cores: two files at a time, each with its own database, worker and SMTP sink.
    maxWorkers: 2,
    testTimeout: 90_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
  },
});
