#!/usr/bin/env node
// `npm test`: lint + format check, type check, then every test, ending with one
// "Tests: N passed, N failed" line that CI and people can read at a glance.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { assertSupportedNode } from "../bin/node-version.mjs";

assertSupportedNode("npm test");
const extraArgs = process.argv.slice(2);

function run(label, command, args) {
  console.log(`\n== ${label}`);
  const result = spawnSync(command, args, {
    stdio: "inherit",
    env: process.env,
  });
  return result.status ?? 1;
}

const bin = (name) => join("node_modules", ".bin", name);
/** vitest runs on this very Node (the project's Node 24), whatever `node` the PATH finds. */
const VITEST = join("node_modules", "vitest", "vitest.mjs");

if (extraArgs.length === 0) {
  if (run("lint and format (biome)", bin("biome"), ["ci", "."]) !== 0) process.exit(1);
  if (run("type check (tsc)", bin("tsc"), ["--noEmit"]) !== 0) process.exit(1);
  // The fake Slack page's browser test drives Debian's chromium: installed here when missing, so
  // `npm ci && npm test` stays the whole recipe on a fresh machine. A failure is not fatal here:
  // the browser test itself then fails saying why.
  run("chromium for the browser test", process.execPath, [join("scripts", "ensure-chromium.mjs")]);
}

const reportFile = join(mkdtempSync(join(tmpdir(), "vitest-")), "report.json");
const status = run("tests (vitest)", process.execPath, [
  VITEST,
  "run",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${reportFile}`,
  ...extraArgs,
]);

try {
  const report = JSON.parse(readFileSync(reportFile, "utf8"));
  const skipped = report.numPendingTests + report.numTodoTests;
  console.log(
    `\nTests: ${report.numPassedTests} passed, ${report.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}`,
  );
  if (report.numTotalTests === 0) {
    console.error("no test ran");
    process.exit(1);
  }
} catch {
  console.log("\nTests: 0 passed, 1 failed");
  console.error("the test run produced no report (see the output above)");
  process.exit(status === 0 ? 1 : status);
}
process.exit(status);
