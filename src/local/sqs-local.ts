import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { Server } from "node:net";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { describeError, LocalServiceError } from "../errors.ts";

/**
 * The SQS of this machine: fauxqs (an SQS emulator in pure JS, on Node 22.5+) runs inside the
 * process, and the local runtime talks to it with the same SQS adapters the Lambdas use. With a
 * data folder it keeps its queues and messages across runs (SQLite), so an alert queued while
 * Slack was down is still there for the next `poll --once`.
 */

export interface RunningLocalSqs {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startLocalSqs(options: { dataDir?: string } = {}): Promise<RunningLocalSqs> {
  // Imported here, not at the top: the Lambdas' bundles never load the emulator.
  const { startFauxqs } = await import("fauxqs");
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  let server: Awaited<ReturnType<typeof startFauxqs>>;
  try {
    server = await onLoopbackOnly(() =>
      startFauxqs({
        port: 0,
        logger: false,
        ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      }),
    );
  } catch (error) {
    throw new LocalServiceError(`the local SQS emulator (fauxqs) did not start: ${describeError(error)}`, {
      cause: error,
    });
  }
  return { endpoint: `http://127.0.0.1:${server.port}`, stop: () => server.stop() };
}

/**
 * fauxqs 2.4 always listens on every interface (0.0.0.0), which would let the local network
 * read queued participant replies. While it starts, a listen on 0.0.0.0 is turned into one on
 * 127.0.0.1; nothing else starts a server meanwhile (the local runtime starts its stand-ins one
 * after the other).
 */
async function onLoopbackOnly<T>(start: () => Promise<T>): Promise<T> {
  const listen = Server.prototype.listen;
  Server.prototype.listen = function (this: Server, ...args: unknown[]) {
    const [first] = args;
    if (typeof first === "object" && first !== null && (first as { host?: unknown }).host === "0.0.0.0") {
      args[0] = { ...(first as object), host: "127.0.0.1" };
    }
    return (listen as (...listenArgs: unknown[]) => Server).apply(this, args);
  } as typeof listen;
  try {
    return await start();
  } finally {
    Server.prototype.listen = listen;
  }
}

/** The local queues' settings, as the stack sets them for the deployed ones (infra/constructs/event-queue.ts). */
export interface LocalQueueSettings {
  /** A message that failed this many deliveries goes to the dead-letter queue. */
  maxReceiveCount: number;
  /** How long a received message stays hidden when its consumer neither settles nor deletes it (it crashed). */
  visibilityTimeoutSeconds: number;
}

export interface LocalQueueUrls {
  queueUrl: string;
  deadLetterQueueUrl: string;
}

/** SQS queue names: at most 80 characters of letters, digits, `-` and `_`, `.fifo` included. */
function queueName(tableName: string, suffix: string): string {
  const base = tableName.replaceAll(/[^A-Za-z0-9_-]/g, "-");
  const room = 80 - suffix.length - ".fifo".length - 1;
  const fitted =
    base.length <= room
      ? base
      : `${base.slice(0, room - 9)}-${createHash("sha256").update(tableName).digest("hex").slice(0, 8)}`;
  return `${fitted}-${suffix}.fifo`;
}

/**
 * The FIFO queue and its dead-letter queue for the table `tableName`, created when missing (one
 * pair per table, so several tables can share one emulator, as the tests do). Only for a local
 * SQS: in AWS the stack owns the queues.
 */
export async function ensureLocalQueues(
  client: SQSClient,
  tableName: string,
  settings: LocalQueueSettings,
): Promise<LocalQueueUrls> {
  try {
    const deadLetterQueueUrl = await ensureQueue(client, queueName(tableName, "dead-letters"), {
      FifoQueue: "true",
      MessageRetentionPeriod: String(14 * 24 * 3600),
    });
    const deadLetterArn = (
      await client.send(new GetQueueAttributesCommand({ QueueUrl: deadLetterQueueUrl, AttributeNames: ["QueueArn"] }))
    ).Attributes?.QueueArn;
    if (!deadLetterArn) throw new Error("the dead-letter queue has no ARN");
    const queueUrl = await ensureQueue(client, queueName(tableName, "events"), {
      FifoQueue: "true",
      ContentBasedDeduplication: "false",
      MessageRetentionPeriod: String(14 * 24 * 3600),
      VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterArn, maxReceiveCount: settings.maxReceiveCount }),
    });
    return { queueUrl, deadLetterQueueUrl };
  } catch (error) {
    throw new LocalServiceError(`could not prepare the local SQS queues: ${describeError(error)}`, { cause: error });
  }
}

async function ensureQueue(client: SQSClient, name: string, attributes: Record<string, string>): Promise<string> {
  let url: string | undefined;
  try {
    url = (await client.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
  } catch (error) {
    if (!(error instanceof QueueDoesNotExist)) throw error;
  }
  url ??= (await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl;
  if (!url) throw new Error(`CreateQueue ${name} returned no URL`);
  return onEndpoint(url, client);
}

/**
 * The emulator names its queues `http://sqs.<region>.localhost:<port>/...`, a host that does not
 * resolve everywhere; the SDK sends a request to its queue URL's host unless the client has an
 * endpoint. The emulator finds a queue by the URL's path, so the URL is moved onto the client's
 * endpoint: a client configured only by AWS_ENDPOINT_URL_SQS (the notifier Lambda in tests) reaches it too.
 */
export async function onEndpoint(queueUrl: string, client: SQSClient): Promise<string> {
  const endpoint = await client.config.endpoint?.();
  if (!endpoint) return queueUrl;
  const url = new URL(queueUrl);
  const port = endpoint.port === undefined ? "" : `:${endpoint.port}`;
  return `${endpoint.protocol}//${endpoint.hostname}${port}${url.pathname}`;
}
