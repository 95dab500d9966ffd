import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startFakeSlack } from "../../src/local/fake-slack.ts";
import { startRespondentSimulator } from "../../src/local/simulator.ts";
import { CLI_TEST_TIMEOUT_MS, runCli } from "../support/cli.ts";

const API_KEY = "cli-test-key-7f3a9c";
const API_SECRET = "cli-test-secret-b81e44";
const SLACK_TOKEN = "xoxb-cli-test-token-5d2e";
const CHANNEL = "C0TESTCLI01";

describe("respondent-notifier poll --once against the simulator, DynamoDB Local and a fake Slack", {
  timeout: CLI_TEST_TIMEOUT_MS,
}, () => {
  let simulator: Awaited<ReturnType<typeof startRespondentSimulator>>;
  let slack: Awaited<ReturnType<typeof startFakeSlack>>;
  let env: Record<string, string>;

  beforeAll(async () => {
    simulator = await startRespondentSimulator({
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      conversations: 30,
      pageSizeCap: 7,
    });
    slack = await startFakeSlack({ token: SLACK_TOKEN, channels: [CHANNEL] });
    env = {
      RESPONDENT_API_URL: simulator.url,
      RESPONDENT_API_KEY: API_KEY,
      RESPONDENT_API_SECRET: API_SECRET,
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_API_URL: `${slack.url}/api/`,
      DYNAMODB_ENDPOINT: inject("dynamodbEndpoint"),
      TABLE_NAME: `cli-poll-${Date.now()}`,
    };
  }, CLI_TEST_TIMEOUT_MS);

  afterAll(async () => {
    await simulator?.close();
    await slack?.close();
  });

  it("alerts a new participant reply once, and a second run emits nothing new", async () => {
    const project = simulator.projectIds[0] ?? "";
    const added = await runCli(["subscriptions", "add", "--project", project, "--channel", CHANNEL], env);
    expect(added.stderr).toBe("");
    expect(added.code).toBe(0);

    const conversationUid = simulator.addConversation({
      projectId: project,
      participant: { firstName: "Ada", lastName: "L" },
      firstMessage: { from: "participant", body: "Can we move to Friday? <!channel>" },
    });
    simulator.addMessage(conversationUid, { from: "researcher", body: "Sure, Friday works" });
    const otherProject = simulator.projectIds[1] ?? "";
    simulator.addConversation({
      projectId: otherProject,
      firstMessage: { from: "participant", body: "not subscribed" },
    });
    simulator.clearRequests();

    const first = await runCli(["poll", "--once"], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("new reply: Ada L. in");
    expect(first.stdout).toMatch(/1 new reply, 1 alert posted/);
    expect(slack.posts).toHaveLength(1);
    expect(slack.posts[0]?.channel).toBe(CHANNEL);
    expect(slack.posts[0]?.text).toContain("&lt;!channel&gt;");
    expect(slack.posts[0]?.text).not.toContain("<!channel>");
    // Only the subscribed project is listed, with the API's projectId filter.
    expect(new Set(simulator.requests.map((request) => request.projectId))).toEqual(new Set([project]));

    const second = await runCli(["poll", "--once"], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/0 new replies, 0 alerts posted/);
    expect(slack.posts).toHaveLength(1);
  });

  it("after two Slack 500s, the same poll --once still posts the alert exactly once, unmarked, and the next run posts nothing", async () => {
    const project = simulator.projectIds[0] ?? "";
    const body = "Two 500s before this one lands";
    simulator.addConversation({ projectId: project, firstMessage: { from: "participant", body } });
    slack.failNext("chat.postMessage", 2, { status: 500 }, { whenTextIncludes: body });
    const postsOf = () => slack.posts.filter((post) => post.text.includes(body));

    const run = await runCli(["poll", "--once"], env);
    expect(run.code, run.stderr).toBe(0);
    expect(postsOf()).toHaveLength(1);
    expect(postsOf()[0]?.text).not.toContain("may repeat");

    const next = await runCli(["poll", "--once"], env);
    expect(next.code, next.stderr).toBe(0);
    expect(postsOf()).toHaveLength(1);
  });

  it("after Slack accepted a post but answered 500, there is exactly one message and no 'may repeat'", async () => {
    const project = simulator.projectIds[0] ?? "";
    const body = "Accepted, then the answer was a 500";
    simulator.addConversation({ projectId: project, firstMessage: { from: "participant", body } });
    slack.failNext("chat.postMessage", 1, { acceptThenFail: true }, { whenTextIncludes: body });
    const postsOf = () => slack.posts.filter((post) => post.text.includes(body));

    const run = await runCli(["poll", "--once"], env);
    expect(run.code, run.stderr).toBe(0);
    const again = await runCli(["poll", "--once"], env);
    expect(again.code, again.stderr).toBe(0);
    expect(postsOf()).toHaveLength(1);
    expect(postsOf()[0]?.text).not.toContain("may repeat");
  });

  it("exits non-zero with a one-line reason naming the credentials, without printing them", async () => {
    const run = await runCli(["poll", "--once"], { ...env, RESPONDENT_API_SECRET: "wrong-secret-value-123" });
    expect(run.code).toBe(1);
    const reason = run.stderr.trim().split("\n").at(-1) ?? "";
    expect(reason).toMatch(/^respondent-notifier: poll incomplete: .*credentials rejected \(401\).*RESPONDENT_API_KEY/);
    for (const secret of [API_KEY, "wrong-secret-value-123", SLACK_TOKEN]) {
      expect(run.stdout + run.stderr).not.toContain(secret);
    }
  });

  it("refuses a bad setting at start-up, naming the variable", async () => {
    const run = await runCli(["poll", "--once"], { ...env, POLL_INTERVAL_SECONDS: "soon" });
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe("respondent-notifier: POLL_INTERVAL_SECONDS: must be a whole number");
  });

  it("refuses an invalid subscription naming the flag, and writes nothing", async () => {
    const run = await runCli(["subscriptions", "add", "--project", "*", "--channel", "#general"], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--channel "#general": must be a Slack channel id');
    const listed = await runCli(["subscriptions", "list", "--json"], env);
    const channels = (JSON.parse(listed.stdout) as Array<{ channelId: string }>).map((s) => s.channelId);
    expect(channels).toEqual([CHANNEL]);
  });
});

describe("respondent-notifier start with no accounts at all", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it("shows simulated participant replies as Slack alerts in the terminal, each exactly once", async () => {
    const run = await runCli(
      ["start"],
      {
        DYNAMODB_ENDPOINT: inject("dynamodbEndpoint"),
        TABLE_NAME: `cli-start-${Date.now()}`,
        POLL_INTERVAL_SECONDS: "1",
      },
      { stopWhen: (stdout) => (stdout.match(/^poll: /gm) ?? []).length >= 4, timeoutMs: 60_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain("using embedded Respondent API simulator");
    expect(run.stderr).toContain("using embedded fake Slack");
    expect(run.stdout.match(/new reply: /g)?.length ?? 0).toBeGreaterThan(0);
    // Every alert the fake Slack rendered, found by a poll or by the simulator's webhook to the
    // local server: as many as the cycles say they posted, and none of them twice.
    const rendered = run.stdout.split(/^(?=#C\w+ · )/m).filter((block) => block.startsWith("#C"));
    expect(rendered.length).toBeGreaterThan(0);
    const posted = [...run.stdout.matchAll(/(\d+) alerts? posted/g)].reduce((sum, match) => sum + Number(match[1]), 0);
    expect(posted).toBe(rendered.length);
    const identities = rendered.map((block) => {
      const lines = block.split("\n");
      return [
        lines.find((line) => line.includes("Respondent conversation")),
        lines.find((line) => line.startsWith("  │")),
      ].join("|");
    });
    expect(new Set(identities).size).toBe(identities.length);
  });
});
