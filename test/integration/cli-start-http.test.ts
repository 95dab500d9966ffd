import { describe, expect, inject, it } from "vitest";
import { slackSignature } from "../../src/local/fake-slack.ts";
import { CLI_TEST_TIMEOUT_MS, startCli } from "../support/cli.ts";

const SIGNING_SECRET = "0123456789abcdef0123456789abcdef";

function command(text: string): string {
  return new URLSearchParams({
    command: "/respondent",
    text,
    user_id: "U0SOMEONE01",
    channel_id: "C0DEMO00001",
    response_url: "https://hooks.slack.com/commands/T0/1/abc",
  }).toString();
}

describe("respondent-notifier start serves Slack's Request URL", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it("prints listening on http://127.0.0.1:<port> (HTTP_PORT=0: a free one) and answers only signed requests", async () => {
    const cli = startCli(["start"], {
      DYNAMODB_ENDPOINT: inject("dynamodbEndpoint"),
      TABLE_NAME: `cli-start-http-${Date.now()}`,
      POLL_INTERVAL_SECONDS: "5",
      HTTP_PORT: "0",
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
    });
    try {
      const [, url] = await cli.waitFor(/^listening on (http:\/\/127\.0\.0\.1:\d+)$/m);
      const body = command("help");
      const timestamp = Math.floor(Date.now() / 1000);
      const post = (signature: string) =>
        fetch(`${url}/slack/events`, {
          method: "POST",
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": String(timestamp),
            "x-slack-signature": signature,
          },
          body,
        });

      const signed = await post(slackSignature(SIGNING_SECRET, timestamp, body));
      const forged = await post(slackSignature("another-secret-0123456789abcdef", timestamp, body));

      expect(signed.status).toBe(200);
      expect((await signed.json()) as unknown).toEqual({
        response_type: "ephemeral",
        text: expect.stringContaining("`/respondent subscribe <projectId|*> [options]`"),
      });
      expect(forged.status).toBe(401);
      expect(cli.stderr).toContain("using embedded fake Slack");
    } finally {
      expect(await cli.stop()).toBe(0);
    }
  });
});
