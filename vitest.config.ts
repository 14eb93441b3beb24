import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // minutes of real MNIST training: `npm run test:e2e` (vitest.e2e.config.ts)
    exclude: [...configDefaults.exclude, 'test/e2e/**'],
    // Forks, not worker threads: each test file gets its own process and its own addon instance.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
