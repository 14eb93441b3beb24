import { defineConfig } from 'vitest/config';

// `npm run test:soak`: the long memory soak, kept out of `npm test` (see test/soak/).
export default defineConfig({
  test: {
    include: ['test/soak/**/*.soak.ts'],
    pool: 'forks',
    testTimeout: 600_000,
    hookTimeout: 60_000,
  },
});
