#!/usr/bin/env node
// Makes sure a Chromium the browser tests can drive is on this machine: Debian's `chromium`
// package, installed with apt-get when it is missing and this process may install packages
// (root, or sudo without a password). Prints the executable's path; exits 1 with the reason
// when there is none, so the browser test fails saying why instead of being skipped.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"];

export function findChromium() {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  return CANDIDATES.find((path) => existsSync(path));
}

function run(command, args) {
  const result = spawnSync(command, args, {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  return result.status === 0;
}

function installer() {
  if (typeof process.getuid === "function" && process.getuid() === 0) return [];
  const sudo = spawnSync("sudo", ["-n", "true"], { stdio: "ignore" });
  return sudo.status === 0 ? ["sudo", "-n"] : undefined;
}

export function ensureChromium() {
  const found = findChromium();
  if (found) return { path: found };
  if (!existsSync("/usr/bin/apt-get")) {
    return {
      problem:
        "Chromium is not installed and this machine has no apt-get: install chromium, or set CHROMIUM_PATH to a Chromium or Chrome executable",
    };
  }
  const prefix = installer();
  if (!prefix) {
    return {
      problem:
        "Chromium is not installed and installing it needs root: run `sudo apt-get install -y chromium`, or set CHROMIUM_PATH",
    };
  }
  const [command, ...rest] = [...prefix, "apt-get"];
  console.error("ensure-chromium: installing Debian's chromium package (once per machine)…");
  const quiet = ["-qq", "-o", "Dpkg::Use-Pty=0"];
  if (
    !run(command, [...rest, "update", ...quiet]) ||
    !run(command, [...rest, "install", "-y", ...quiet, "--no-install-recommends", "chromium"])
  ) {
    return {
      problem: "`apt-get install -y chromium` failed (see above): install chromium by hand, or set CHROMIUM_PATH",
    };
  }
  const installed = findChromium();
  return installed
    ? { path: installed }
    : { problem: "apt-get installed chromium but no executable was found at /usr/bin/chromium; set CHROMIUM_PATH" };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = ensureChromium();
  if (result.path) {
    console.log(result.path);
  } else {
    console.error(`ensure-chromium: ${result.problem}`);
    process.exit(1);
  }
}
