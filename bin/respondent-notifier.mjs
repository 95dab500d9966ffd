#!/usr/bin/env node
// The CLI entry point named in package.json "bin". tsx compiles the TypeScript sources on
// load, so `npx respondent-notifier ...` works straight after `npm ci`.
import { register } from "tsx/esm/api";

import { assertSupportedNode } from "./node-version.mjs";

assertSupportedNode("respondent-notifier");
register();
const { main } = await import(new URL("../src/cli/main.ts", import.meta.url).href);
process.exit(await main(process.argv.slice(2)));
