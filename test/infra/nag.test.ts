import { App, Stack } from "aws-cdk-lib";
import { Queue } from "aws-cdk-lib/aws-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acknowledgements, awsSolutionsFindings } from "./nag.ts";
import { type Synthesized, synthesize } from "./synth.ts";

let synthesized: Synthesized;

beforeAll(() => {
  synthesized = synthesize();
});

afterAll(() => synthesized.cleanup());

describe("cdk-nag AwsSolutions checks", () => {
  it("find nothing unacknowledged in the stack", () => {
    expect(awsSolutionsFindings(synthesized.stack)).toEqual([]);
  });

  it("acknowledge only the rules the design cannot meet, each on the resource it concerns", () => {
    const acknowledged = acknowledgements(synthesized.stack).map(({ path, id }) => `${id} @ ${path}`);

    expect(acknowledged.sort()).toEqual([
      "AwsSolutions-SMG4 @ RespondentNotifier/Secret/Secret",
      "AwsSolutions-SNS2 @ RespondentNotifier/Monitoring/AlarmTopic",
    ]);
  });

  it("give every acknowledgement a written reason", () => {
    for (const { id, reason } of acknowledgements(synthesized.stack)) {
      expect(reason.split(" ").length, `reason for ${id}`).toBeGreaterThan(15);
    }
  });

  it("do flag a resource that breaks a rule (the empty result above is not vacuous)", () => {
    const stack = new Stack(new App(), "Probe");
    new Queue(stack, "PlainQueue");

    expect(awsSolutionsFindings(stack).map((finding) => finding.split(":")[0])).toEqual(
      expect.arrayContaining(["AwsSolutions-SQS3", "AwsSolutions-SQS4"]),
    );
  });
});
