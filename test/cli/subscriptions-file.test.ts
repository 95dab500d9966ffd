import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createDynamoDbClient } from "../../src/adapters/dynamo/client.ts";
import { DynamoSubscriptionStore } from "../../src/adapters/dynamo/subscription-store.ts";
import { describeTableProblem } from "../../src/adapters/dynamo/table.ts";
import { consoleLog } from "../../src/adapters/observability.ts";
import type { Subscription } from "../../src/domain/subscriptions.ts";
import { CLI_TEST_TIMEOUT_MS, runCli } from "../support/cli.ts";
import { localTableEnv, runInProcess } from "./helpers.ts";

const folder = mkdtempSync(join(tmpdir(), "subscriptions-file-"));

function file(name: string, text: string): string {
  const path = join(folder, name);
  writeFileSync(path, text);
  return path;
}

/** What the table holds, read with the store the CLI uses (a spawn per read would cost a second). */
async function stored(env: Record<string, string>): Promise<Subscription[]> {
  const tableName = env.TABLE_NAME ?? "";
  const client = createDynamoDbClient({ tableName, region: "us-east-1", endpoint: env.DYNAMODB_ENDPOINT });
  try {
    if (await describeTableProblem(client, tableName)) return [];
    return await new DynamoSubscriptionStore(client, tableName, { log: consoleLog({ level: "silent" }) }).list();
  } finally {
    client.destroy();
  }
}

const FIRST = `subscriptions:
  - project: p-checkout
    channel: C0CHECKOUT1
    mentions: [here]
  - project: p-onboarding
    channel: C0ONBOARD01
  - project: "*"
    channel: C0EVERYTHING
    paused: true
`;

const SECOND = `subscriptions:
  - project: p-checkout
    channel: C0CHECKOUT1
    body: preview
  - project: p-onboarding
    channel: C0ONBOARD01
  - project: p-diary
    channel: C0DIARY0001
    researcher: ext-42
    thread: false
`;

describe("respondent-notifier subscriptions apply", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  const env = localTableEnv("cli-apply");
  let firstApply: Awaited<ReturnType<typeof runCli>>;
  let beforeChanges: Subscription[];

  beforeAll(async () => {
    firstApply = await runCli(["subscriptions", "apply", "-f", file("first.yaml", FIRST), "--yes"], env);
    beforeChanges = await stored(env);
  }, CLI_TEST_TIMEOUT_MS);

  it("adds what the file lists, saying that new subscriptions start now", () => {
    expect(firstApply.code, firstApply.stderr).toBe(0);
    expect(firstApply.stdout).toContain(
      "+ add     p-checkout -> C0CHECKOUT1  mentions=here thread=on body=full  (starts now: earlier messages never alert)",
    );
    expect(firstApply.stdout).toContain("3 changes: 3 to add, 0 to change, 0 to remove, 0 unchanged");
    expect(firstApply.stdout).toContain("applied: 3 added, 0 changed, 0 removed");
    expect(beforeChanges.map((s) => `${s.projectId}>${s.channelId}:${s.paused}`).sort()).toEqual([
      "*>C0EVERYTHING:true",
      "p-checkout>C0CHECKOUT1:false",
      "p-onboarding>C0ONBOARD01:false",
    ]);
  });

  it("shows the diff with --dry-run, refuses to apply it without a terminal or --yes, and writes nothing either way", async () => {
    const path = file("second.yaml", SECOND);
    const checkout = beforeChanges.find((s) => s.channelId === "C0CHECKOUT1");

    const preview = await runCli(["subscriptions", "apply", "-f", path, "--dry-run"], env);
    const refused = await runCli(["subscriptions", "apply", "-f", path], env);

    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toContain(
      "+ add     p-diary -> C0DIARY0001  researcher=ext-42 thread=off body=full  (starts now: earlier messages never alert)",
    );
    expect(preview.stdout).toContain(
      `~ change  p-checkout -> C0CHECKOUT1  mentions: here -> (none); body: full -> preview  (keeps its start, ${checkout?.createdAt})`,
    );
    expect(preview.stdout).toContain("- remove  * -> C0EVERYTHING");
    expect(preview.stdout).toContain("3 changes: 1 to add, 1 to change, 1 to remove, 1 unchanged");
    expect(preview.stdout).toContain("dry run: nothing applied");
    expect(refused.code).toBe(2);
    expect(refused.stdout).toContain("~ change  p-checkout -> C0CHECKOUT1");
    expect(refused.stderr).toContain("not applied: confirm on a terminal, or pass --yes to apply without asking");
    expect(await stored(env)).toEqual(beforeChanges);
  });

  it("on a terminal, asks before applying and applies nothing when the answer is no", async () => {
    const questions: string[] = [];
    const declined = await runInProcess(["subscriptions", "apply", "-f", file("declined.yaml", SECOND)], env, {
      stdinIsTTY: true,
      answer: false,
      questions,
    });
    expect(declined.code, declined.stderr).toBe(0);
    expect(questions).toEqual(["Apply these 3 changes? [y/N] "]);
    expect(declined.stdout).toContain("not applied");
    expect(await stored(env)).toEqual(beforeChanges);
  });

  it("with --yes makes the table match the file, keeping the start of a changed subscription", async () => {
    const startedBefore = new Date().toISOString();
    const applied = await runCli(["subscriptions", "apply", "-f", file("second-yes.yaml", SECOND), "--yes"], env);

    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain("applied: 1 added, 1 changed, 1 removed");
    const after = await stored(env);
    const byChannel = new Map(after.map((subscription) => [subscription.channelId, subscription]));
    expect([...byChannel.keys()].sort()).toEqual(["C0CHECKOUT1", "C0DIARY0001", "C0ONBOARD01"]);
    const checkout = byChannel.get("C0CHECKOUT1");
    expect(checkout?.body).toBe("preview");
    expect(checkout?.mentions).toEqual([]);
    expect(checkout?.createdAt).toBe(beforeChanges.find((s) => s.channelId === "C0CHECKOUT1")?.createdAt);
    expect(byChannel.get("C0DIARY0001")?.createdAt.localeCompare(startedBefore)).toBeGreaterThanOrEqual(0);
    expect(byChannel.get("C0DIARY0001")?.externalResearcherId).toBe("ext-42");

    const again = await runCli(["subscriptions", "apply", "-f", file("second-again.yaml", SECOND)], env);
    expect(again.stdout.trim()).toMatch(
      /^no changes: the stored subscriptions match .*second-again\.yaml \(3 subscriptions\)$/,
    );
  });
});

describe("respondent-notifier subscriptions apply with an invalid file", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it("names every bad entry by index and field, and writes nothing", async () => {
    const env = localTableEnv("cli-apply-invalid");
    const path = file(
      "invalid.yaml",
      `subscriptions:
  - project: p-checkout
    channel: C0CHECKOUT1
  - project: p-checkout
    channel: "#general"
  - project: p-onboarding
    chanel: C0ONBOARD01
    body: everything
  - project: p-checkout
    channel: C0CHECKOUT1
    thread: "yes"
`,
    );

    const run = await runCli(["subscriptions", "apply", "-f", path, "--yes"], env);

    expect(run.code).toBe(2);
    const problems = run.stderr.split("\n").slice(1, -1);
    expect(run.stderr.split("\n")[0]).toBe(
      `respondent-notifier: ${path} is not a valid subscriptions file; nothing was changed:`,
    );
    expect(problems).toEqual([
      "  subscriptions[1].channel: must be a Slack channel id like C0123456789 (channel details > About > Channel ID), not a #name",
      "  subscriptions[2].channel: is required",
      "  subscriptions[2].body: must be full, preview or hidden",
      '  subscriptions[2]: unknown field "chanel" (fields: project, channel, researcher, mentions, thread, body, actions, paused, quietHours, timezone, digest)',
      "  subscriptions[3].thread: must be true or false",
    ]);
    expect(await stored(env)).toEqual([]);
  });

  it("reports a repeated project and channel pair and a YAML syntax error with its line", async () => {
    const env = localTableEnv("cli-apply-invalid");
    const repeated = file(
      "repeated.json",
      JSON.stringify({
        subscriptions: [
          { project: "p1", channel: "C0REPEATED1" },
          { project: "p1", channel: "C0REPEATED1", body: "hidden" },
        ],
      }),
    );
    const unquoted = file("unquoted.yaml", "subscriptions:\n  - project: *\n    channel: C0EVERYTHING\n");

    const [repeatedRun, unquotedRun] = await Promise.all([
      runCli(["subscriptions", "apply", "-f", repeated, "--yes"], env),
      runCli(["subscriptions", "apply", "-f", unquoted, "--yes"], env),
    ]);

    expect(repeatedRun.code).toBe(2);
    expect(repeatedRun.stderr).toContain(
      "subscriptions[1]: repeats subscriptions[0] (project p1, channel C0REPEATED1): each project and channel pair appears once",
    );
    expect(unquotedRun.code).toBe(2);
    expect(unquotedRun.stderr).toContain("is not valid YAML: ");
    expect(unquotedRun.stderr).toContain("at line 2, column 14");
    expect(unquotedRun.stderr).toContain('(write the every-project id in quotes: project: "*")');
  });
});

describe("respondent-notifier subscriptions export", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  const env = localTableEnv("cli-export");

  beforeAll(async () => {
    const applied = await runCli(["subscriptions", "apply", "-f", file("export-source.yaml", FIRST), "--yes"], env);
    expect(applied.code, applied.stderr).toBe(0);
  }, CLI_TEST_TIMEOUT_MS);

  it("writes the current set in the apply format, and applying the export back shows no changes", async () => {
    const yamlPath = join(folder, "exported.yaml");
    const jsonPath = join(folder, "exported.json");

    const [toYaml, toJson] = await Promise.all([
      runCli(["subscriptions", "export", "-o", yamlPath], env),
      runCli(["subscriptions", "export", "--format", "json"], env),
    ]);

    expect(toYaml.code, toYaml.stderr).toBe(0);
    expect(toYaml.stdout.trim()).toBe(`wrote 3 subscriptions to ${yamlPath}`);
    expect(readFileSync(yamlPath, "utf8")).toContain('  - project: "*"\n    channel: C0EVERYTHING\n');
    expect(toJson.code, toJson.stderr).toBe(0);
    expect(JSON.parse(toJson.stdout)).toEqual({
      subscriptions: [
        { project: "*", channel: "C0EVERYTHING", thread: true, body: "full", actions: true, paused: true },
        {
          project: "p-checkout",
          channel: "C0CHECKOUT1",
          mentions: ["here"],
          thread: true,
          body: "full",
          actions: true,
          paused: false,
        },
        { project: "p-onboarding", channel: "C0ONBOARD01", thread: true, body: "full", actions: true, paused: false },
      ],
    });
    writeFileSync(jsonPath, toJson.stdout);

    const [yamlBack, jsonBack] = await Promise.all([
      runCli(["subscriptions", "apply", "-f", yamlPath], env),
      runCli(["subscriptions", "apply", "-f", jsonPath], env),
    ]);

    expect(yamlBack.stdout).toContain("no changes: the stored subscriptions match");
    expect(jsonBack.stdout).toContain("no changes: the stored subscriptions match");
    expect([yamlBack.code, jsonBack.code]).toEqual([0, 0]);
  });
});

describe("respondent-notifier subscriptions add --no-actions", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it("stores a subscription without the Reply / Mark as read buttons, which export and list show", async () => {
    const env = localTableEnv("cli-no-actions");

    const added = await runCli(
      ["subscriptions", "add", "--project", "p-quiet", "--channel", "C0NOACTION1", "--no-actions"],
      env,
    );
    const exported = await runCli(["subscriptions", "export", "--format", "json"], env);

    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain("actions=off");
    expect((await stored(env)).map((subscription) => subscription.actions)).toEqual([false]);
    expect(JSON.parse(exported.stdout)).toEqual({
      subscriptions: [
        { project: "p-quiet", channel: "C0NOACTION1", thread: true, body: "full", actions: false, paused: false },
      ],
    });
  });
});

describe("quiet hours, timezone and digest in the file format and the flags", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  const env = localTableEnv("cli-quiet");
  const QUIET = `subscriptions:
  - project: p-checkout
    channel: C0CHECKOUT1
    quietHours: "19:00-08:00"
    timezone: europe/berlin
  - project: p-diary
    channel: C0DIARY0001
    digest: 60m
`;

  it("apply stores them (canonical spelling), list and export show them, and the export applies back unchanged", async () => {
    const applied = await runCli(["subscriptions", "apply", "-f", file("quiet.yaml", QUIET), "--yes"], env);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain(
      "+ add     p-checkout -> C0CHECKOUT1  thread=on body=full quiet-hours=19:00-08:00 timezone=Europe/Berlin",
    );
    expect(applied.stdout).toContain("digest=1h");

    const added = await runCli(
      [
        "subscriptions",
        "add",
        "--project",
        "p-third",
        "--channel",
        "C0THIRD0001",
        "--digest",
        "30m",
        "--timezone",
        "UTC",
      ],
      env,
    );
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain("timezone=UTC  digest=30m");

    const listed = await runCli(["subscriptions", "list"], env);
    expect(listed.stdout).toContain("quiet-hours=19:00-08:00  timezone=Europe/Berlin");

    const exported = await runCli(["subscriptions", "export", "--format", "json"], env);
    expect(JSON.parse(exported.stdout).subscriptions).toEqual([
      {
        project: "p-checkout",
        channel: "C0CHECKOUT1",
        thread: true,
        body: "full",
        actions: true,
        paused: false,
        quietHours: "19:00-08:00",
        timezone: "Europe/Berlin",
      },
      {
        project: "p-diary",
        channel: "C0DIARY0001",
        thread: true,
        body: "full",
        actions: true,
        paused: false,
        digest: "1h",
      },
      {
        project: "p-third",
        channel: "C0THIRD0001",
        thread: true,
        body: "full",
        actions: true,
        paused: false,
        timezone: "UTC",
        digest: "30m",
      },
    ]);
    const back = await runCli(["subscriptions", "apply", "-f", file("quiet-back.json", exported.stdout)], env);
    expect(back.stdout).toContain("no changes: the stored subscriptions match");

    // Changing an option in place shows the change and keeps the subscription's start.
    const changed = await runCli(
      ["subscriptions", "apply", "-f", file("quiet-changed.yaml", QUIET.replace("60m", "30m")), "--dry-run"],
      env,
    );
    expect(changed.stdout).toContain("~ change  p-diary -> C0DIARY0001  digest: 1h -> 30m");
  });

  it("refuses bad values, naming the field or the flag", async () => {
    const bad = await runCli(
      [
        "subscriptions",
        "apply",
        "-f",
        file(
          "quiet-bad.yaml",
          'subscriptions:\n  - project: p\n    channel: C0BAD000001\n    quietHours: "7pm-8am"\n    timezone: Mars/Base\n    digest: 90m\n',
        ),
        "--yes",
      ],
      env,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("subscriptions[0].quietHours: must be HH:MM-HH:MM on a 24-hour clock");
    expect(bad.stderr).toContain("subscriptions[0].timezone: must be an IANA time zone");
    expect(bad.stderr).toContain("subscriptions[0].digest: must be an interval that divides the day");

    const flag = await runCli(
      ["subscriptions", "add", "--project", "p", "--channel", "C0BAD000001", "--quiet-hours", "19-8"],
      env,
    );
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--quiet-hours "19-8": must be HH:MM-HH:MM');
  });
});
