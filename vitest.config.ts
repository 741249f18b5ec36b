import { defineConfig } from 'vitest/config';

// Integration suites each start their own nats-server and ClickHouse session, so they run in
// separate forked workers; two at a time suits the 2-core machines CI runs on.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
