import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { type ConsumedCapacityHook, reportConsumedCapacity } from "../../src/adapters/dynamo/capacity.ts";
import { main } from "../../src/cli/main.ts";
import { eventIdFor, type NewReplyEvent, newReplyEventSchema } from "../../src/domain/events.ts";
import { runServices } from "../support/cli.ts";

/**
 * Variables the operator commands read that test/support/cli.ts does not clear from the
 * developer's shell: set empty (= unset) so that no test can reach a real AWS account.
 */
const OPERATOR_VARIABLES = {
  NOTIFIER_TARGET: "",
  DLQ_URL: "",
  RESPONDENT_SECRET_ARN: "",
  SLACK_SECRET_ARN: "",
  OPS_SLACK_CHANNEL: "",
};

/**
 * A fresh table name in the run's DynamoDB Local, plus the variables that point the CLI at it
 * and at the run's SQS emulator. The local queues are named after the table, so they are fresh too.
 */
export function localTableEnv(prefix: string): Record<string, string> {
  return {
    ...OPERATOR_VARIABLES,
    ...runServices(),
    TABLE_NAME: `${prefix}-${randomUUID()}`,
  };
}

export function replyEvent(input: {
  conversationUid: string;
  messageUid: string;
  channelId: string;
  name?: string;
  body?: string;
  firstName?: string;
  lastName?: string;
  projectId?: string;
}): NewReplyEvent {
  return newReplyEventSchema.parse({
    version: 1,
    eventId: eventIdFor(input.conversationUid, input.messageUid),
    detectedAt: new Date().toISOString(),
    conversation: { uid: input.conversationUid, name: input.name ?? "Diary study", projectId: input.projectId ?? "p1" },
    message: {
      uid: input.messageUid,
      createdAt: new Date().toISOString(),
      body: input.body ?? "Happy to join on Friday",
      bodyTruncated: false,
    },
    sender: {
      known: true,
      uid: "participant-1",
      firstName: input.firstName ?? "Grace",
      lastName: input.lastName ?? "H",
    },
    targets: [
      {
        subscriptionId: `${input.projectId ?? "p1"}#${input.channelId}`,
        channelId: input.channelId,
        mentions: [],
        threadPerConversation: true,
        body: "full",
      },
    ],
  });
}

export interface InProcessRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI in this process (same code path as the binary), for the AWS paths whose SDK
 * clients are mocked here and could not be mocked in a child process, and for a fake terminal.
 */
export async function runInProcess(
  args: string[],
  env: Record<string, string>,
  terminal: { stdinIsTTY?: boolean; stderrIsTTY?: boolean; answer?: boolean; questions?: string[] } = {},
): Promise<InProcessRun> {
  let stdout = "";
  let stderr = "";
  const code = await main(
    args,
    // Like runCli: the run's emulators unless the test says otherwise, never embedded ones writing into .data/.
    { ...OPERATOR_VARIABLES, ...runServices(), NO_COLOR: "1", ...env },
    {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      stdoutIsTTY: false,
      stderrIsTTY: terminal.stderrIsTTY ?? false,
      stdinIsTTY: terminal.stdinIsTTY ?? false,
      columns: 100,
      confirm: async (question) => {
        terminal.questions?.push(question);
        return terminal.answer ?? false;
      },
    },
  );
  return { code, stdout, stderr };
}

/**
 * Reports what every DynamoDB client made in this process until `stop()` consumes, through the
 * same capacity middleware createDynamoDbClient installs for the bench: for an in-process CLI
 * run (runInProcess), whose clients a test cannot reach. The requests themselves go through
 * unchanged.
 */
export function meterDynamoDbRequests(hook: ConsumedCapacityHook): { stop(): void } {
  const metered = new WeakSet<DynamoDBClient>();
  const send = DynamoDBClient.prototype.send;
  DynamoDBClient.prototype.send = function (this: DynamoDBClient, ...args: unknown[]) {
    if (!metered.has(this)) {
      metered.add(this);
      reportConsumedCapacity(this, hook);
    }
    return (send as (...sendArgs: unknown[]) => unknown).apply(this, args);
  } as typeof send;
  return {
    stop: () => {
      DynamoDBClient.prototype.send = send;
    },
  };
}
