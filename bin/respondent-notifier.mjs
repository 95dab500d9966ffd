#!/usr/bin/env node
// The CLI entry point named in package.json "bin". tsx compiles the TypeScript sources on
// load, so `npx respondent-notifier ...` works straight after `npm ci`.
import { register } from "tsx/esm/api";

// The SDK warns on every run that releases after January 2027 will need Node 22; the
// lockfile pins today's SDK, so the warning only buries the CLI's own messages.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
register();
const { main } = await import(new URL("../src/cli/main.ts", import.meta.url).href);
process.exit(await main(process.argv.slice(2)));
