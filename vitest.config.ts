import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each file in its own process: a local stack configures the process environment.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Focused tests must never hide the rest of the suite in CI.
    allowOnly: false,
  },
});
