import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One DynamoDB Local for the whole run; each test file makes its own tables.
    globalSetup: ["test/support/global-setup.ts"],
    // A hang guard, not a schedule: tests wait for conditions. Far above an honest run on a
    // loaded 2-core machine, where each spawned CLI (node + tsx) takes several seconds.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
  },
});
