#!/usr/bin/env node
// The CLI entry point named in package.json "bin". tsx compiles the TypeScript sources on
// load, so `npx respondent-notifier ...` works straight after `npm ci`.
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

register();
const main = new URL("../src/cli/main.ts", import.meta.url);
process.env.RESPONDENT_NOTIFIER_ROOT ??= fileURLToPath(new URL("..", import.meta.url));
await import(main.href);
