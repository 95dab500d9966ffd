import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";

/**
 * The SQS emulator on the histories' virtual clock. The delivery policy asks for waits in
 * seconds (Slack's Retry-After, past a claim's lease) and a crashed consumer leaves messages in
 * flight until the queue's visibility timeout: played in real time, a history would take
 * minutes. Here every message a consumer holds is hidden for real, and its virtual due time is
 * kept instead: `release(now)` makes visible, in the real queue, every message whose due time
 * the virtual clock has reached. Everything else (FIFO groups, one message in flight per group,
 * deduplication, receive counts) is the emulator's own.
 */
export class VirtualTimeQueue {
  /** Receipt handle -> virtual epoch ms at which SQS would make the message visible again. */
  private readonly hidden = new Map<string, { queueUrl: string; dueMs: number }>();
  /** Virtual epoch ms of every wait the policy asked for, for assertions. */
  readonly requestedWaitsSeconds: number[] = [];

  constructor(
    private readonly raw: SQSClient,
    private readonly now: () => number,
    /** The queue's own visibility timeout: how long a received, never settled message stays hidden. */
    private readonly visibilityTimeoutSeconds: number,
  ) {}

  /** A client for one process: same emulator, but its visibility changes go on the virtual clock. */
  client(): SQSClient {
    const send = async (command: unknown) => {
      if (command instanceof ChangeMessageVisibilityCommand) {
        const { QueueUrl, ReceiptHandle, VisibilityTimeout } = command.input;
        const seconds = VisibilityTimeout ?? 0;
        this.requestedWaitsSeconds.push(seconds);
        if (ReceiptHandle && QueueUrl) {
          this.hidden.set(ReceiptHandle, { queueUrl: QueueUrl, dueMs: this.now() + seconds * 1000 });
        }
        return {};
      }
      const result = await (this.raw.send as (command: unknown) => Promise<unknown>).call(this.raw, command);
      if (command instanceof ReceiveMessageCommand) {
        const queueUrl = command.input.QueueUrl ?? "";
        for (const message of (result as { Messages?: Message[] }).Messages ?? []) {
          if (!message.ReceiptHandle) continue;
          this.hidden.set(message.ReceiptHandle, {
            queueUrl,
            dueMs: this.now() + this.visibilityTimeoutSeconds * 1000,
          });
        }
      }
      if (command instanceof DeleteMessageCommand && command.input.ReceiptHandle) {
        this.hidden.delete(command.input.ReceiptHandle);
      }
      return result;
    };
    return { send, destroy: () => undefined } as unknown as SQSClient;
  }

  /** Makes visible every held message whose virtual due time has come. */
  async release(): Promise<void> {
    const now = this.now();
    for (const [receiptHandle, { queueUrl, dueMs }] of [...this.hidden]) {
      if (dueMs > now) continue;
      this.hidden.delete(receiptHandle);
      try {
        await this.raw.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: 0,
          }),
        );
      } catch {
        // Deleted or received again meanwhile: nothing to release.
      }
    }
  }
}
