#!/usr/bin/env node
import { resolve } from "node:path";
// Runs a TypeScript entry file with tsx's loader, so no build step stands between a
// fresh clone and a working command.
import { pathToFileURL } from "node:url";
import { register } from "tsx/esm/api";
import { assertSupportedNode } from "./node-version.mjs";

assertSupportedNode("run-ts");

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  console.error("usage: run-ts.mjs <file.ts> [args...]");
  process.exit(2);
}
process.argv = [process.argv[0] ?? "node", entry, ...rest];
register();
await import(pathToFileURL(resolve(entry)).href);
