import { defineConfig } from 'vitest/config';

// `npm run test:e2e`: the slow end-to-end runs (real MNIST training), one file at a time.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 120_000,
  },
});
