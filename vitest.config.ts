import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Builds the web console (web/dist) when its sources changed: the browser test serves it.
    globalSetup: ['test/browser/build-web.ts'],
    // Call-flow tests spend most of their time listening to prompts in real
    // time: two files at once, each worker with its own port plan (test/integration/ports.ts).
    pool: 'forks',
    maxWorkers: 2,
    minWorkers: 1,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
