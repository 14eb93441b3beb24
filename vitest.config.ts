import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Forks, not worker threads: each test file gets its own process and its own addon instance.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
