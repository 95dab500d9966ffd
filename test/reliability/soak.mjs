#!/usr/bin/env node
// The reliability suite with many more generated histories than the default run, and the totals
// docs/RELIABILITY.md quotes: `npm run test:soak -- [runs]` (default 500 histories per
// property; RELIABILITY_SEED=<n> replays one). Each test file writes its numbers as JSON into a
// temporary folder (RELIABILITY_REPORT_DIR); this script adds them up and prints them.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertSupportedNode } from "../../bin/node-version.mjs";

assertSupportedNode("the reliability soak");
const runs = process.argv[2] ?? "500";
if (!/^\d+$/.test(runs) || Number(runs) < 1) {
  console.error("usage: npm run test:soak -- [histories per property, default 500]");
  process.exit(2);
}
const reportDir = mkdtempSync(join(tmpdir(), "reliability-soak-"));
const started = Date.now();
// vitest runs on this very Node (the project's Node 24), whatever `node` the PATH finds.
const result = spawnSync(process.execPath, [join("node_modules", "vitest", "vitest.mjs"), "run", "test/reliability"], {
  stdio: "inherit",
  env: {
    ...process.env,
    RELIABILITY_RUNS: runs,
    RELIABILITY_REPORT_DIR: reportDir,
  },
});

const reports = readdirSync(reportDir)
  .filter((name) => name.endsWith(".json"))
  .map((name) => JSON.parse(readFileSync(join(reportDir, name), "utf8")));
const add = (into, from) => {
  for (const [key, count] of Object.entries(from ?? {})) into[key] = (into[key] ?? 0) + count;
};
const totals = { faults: {}, crashes: {}, observed: {} };
for (const report of reports) {
  for (const key of ["histories", "cycles", "alertsDue", "posts", "duplicates", "duplicatesMarked", "markedSingles"]) {
    totals[key] = (totals[key] ?? 0) + report[key];
  }
  add(totals.faults, report.faults);
  add(totals.crashes, report.crashes);
  add(totals.observed, report.observed);
}

console.log(`\nreliability soak: ${runs} histories per property, ${((Date.now() - started) / 60_000).toFixed(1)} min`);
for (const report of reports) {
  console.log(
    `  ${report.name.padEnd(28)} ${String(report.histories).padStart(6)} histories ${String(report.posts).padStart(7)} posts ` +
      `${String(report.duplicates).padStart(4)} duplicates (${report.duplicatesMarked} marked)`,
  );
}
const sum = (record) => Object.values(record).reduce((total, count) => total + count, 0);
console.log(
  `  total: ${totals.histories} histories, ${totals.cycles} cycles, ${totals.alertsDue} alerts due, ${totals.posts} posts, ` +
    `${totals.duplicates} duplicates (${totals.duplicatesMarked} marked), ${sum(totals.faults)} faults, ${sum(totals.crashes)} crashes`,
);
console.log("  faults by kind:", JSON.stringify(totals.faults));
console.log("  crashes by interrupted side effect:", JSON.stringify(totals.crashes));
console.log("  observed:", JSON.stringify(totals.observed));
process.exit(result.status ?? 1);
