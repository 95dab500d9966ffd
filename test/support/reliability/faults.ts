import { type DynamoDBClient, ProvisionedThroughputExceededException } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { ConversationState } from "../../../src/domain/detection.ts";
import type { NewReplyEvent } from "../../../src/domain/events.ts";
import { QueueUnavailableError } from "../../../src/errors.ts";
import type {
  ConversationPageResult,
  ConversationSource,
  EventQueue,
  ListConversationsFilter,
  SlackPoster,
  StateStore,
} from "../../../src/ports.ts";
import type { ReliabilityStats } from "./stats.ts";

/** A promise that never settles: what every call of a killed process "returns". */
function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

/**
 * One process (a Lambda invocation, a CLI run) that may be killed. Every side effect (a
 * DynamoDB request, an API page read, a Slack post) goes through `effect`. With `crashAfter`
 * set to k, the k-th effect is carried out and then the process dies: its result is never
 * seen, nothing after it starts, and calls already in flight never return to the caller.
 * That is a `kill -9` between two side effects, not an exception some `catch` could swallow.
 */
export class CrashDomain {
  private effects = 0;
  private dead = false;
  private resolveDied: (point: string) => void = () => undefined;
  /** Resolves with the interrupted side effect when the process dies. */
  readonly died: Promise<string>;
  readonly points: string[] = [];

  constructor(private readonly crashAfter: number | undefined = undefined) {
    this.died = new Promise((resolve) => {
      this.resolveDied = resolve;
    });
  }

  get effectCount(): number {
    return this.effects;
  }

  get crashed(): boolean {
    return this.dead;
  }

  async effect<T>(label: string, run: () => Promise<T>): Promise<T> {
    if (this.dead) return never();
    this.effects += 1;
    const index = this.effects;
    this.points.push(label);
    let result: T;
    try {
      result = await run();
    } catch (error) {
      if (this.dead) return never();
      if (index === this.crashAfter) return this.kill(label);
      throw error;
    }
    if (this.dead) return never();
    if (index === this.crashAfter) return this.kill(label);
    return result;
  }

  private kill<T>(label: string): Promise<T> {
    this.dead = true;
    this.resolveDied(`after ${label}`);
    return never();
  }
}

export type CycleOutcome = { crashed: false } | { crashed: true; point: string };

/** Runs `work` as the domain's process: it either finishes (or throws), or the process dies mid-way. */
export async function runInDomain(domain: CrashDomain, work: () => Promise<void>): Promise<CycleOutcome> {
  const running = work();
  // A killed process's work never settles; should it reject anyway, nobody is listening.
  running.catch(() => undefined);
  return Promise.race([
    running.then(() => ({ crashed: false }) as const),
    domain.died.then((point) => ({ crashed: true, point }) as const),
  ]);
}

/** Which kind of side effect a DynamoDB command is, named as the issue names them. */
export function effectLabel(command: unknown): string {
  const name = (command as { constructor: { name: string } }).constructor.name.replace(/Command$/, "");
  const input = (command as { input?: Record<string, unknown> }).input ?? {};
  const pk = partitionOf(input);
  const area = pk.startsWith("CONV#")
    ? "state"
    : pk.startsWith("LEDGER#")
      ? "ledger"
      : pk.startsWith("THREAD#")
        ? "thread"
        : pk === "SUBS"
          ? "subscriptions"
          : pk.startsWith("LOCAL")
            ? "queue"
            : "table";
  switch (name) {
    case "BatchGetItem":
      return "state.read";
    case "Query":
    case "GetItem":
      return `${area}.read`;
    case "PutItem":
      return area === "ledger" ? "ledger.claim" : `${area}.write`;
    case "UpdateItem":
      if (area === "ledger")
        return String(input.UpdateExpression).includes(":posted") ? "ledger.markPosted" : "ledger.reclaim";
      return `${area}.update`;
    case "DeleteItem":
      return area === "ledger" ? "ledger.release" : `${area}.delete`;
    default:
      return `${area}.${name}`;
  }
}

function partitionOf(input: Record<string, unknown>): string {
  const attribute = (input.Item ?? input.Key) as { pk?: { S?: string } } | undefined;
  if (attribute?.pk?.S) return attribute.pk.S;
  const values = input.ExpressionAttributeValues as Record<string, { S?: string }> | undefined;
  if (values?.[":pk"]?.S) return values[":pk"].S;
  return "";
}

export interface FaultRates {
  /** Per poll cycle: the API starts failing for a while (429, 5xx, timeouts, 401, non-JSON). */
  apiOutage?: number;
  /** Per DynamoDB request: refused as throttled before it is applied. */
  dynamoThrottle?: number;
  /** Per DynamoDB request: applied, but the answer is lost (a timeout after the write). */
  dynamoLostResponse?: number;
  /** Per state write: a concurrent poller writes the same state first (a real conditional-check conflict). */
  stateConflict?: number;
  /** Per queue send: refused, sometimes after some of the events went through. */
  queueSendFailure?: number;
  /** Per notify cycle: Slack answers 429, 5xx, times out, or accepts and then fails. */
  slackFault?: number;
  /** Per cycle: the process is killed after a random side effect. */
  crash?: number;
}

/** The run's fault decisions, all from the history's seed; `active` is false once the faults stop. */
export class FaultPlan {
  active = true;

  constructor(
    readonly rates: FaultRates,
    readonly random: () => number,
    readonly stats: ReliabilityStats,
  ) {}

  chance(kind: keyof FaultRates): boolean {
    const rate = this.rates[kind] ?? 0;
    return this.active && rate > 0 && this.random() < rate;
  }
}

const NO_FAULTS = new FaultPlan({}, () => 1, undefined as unknown as ReliabilityStats);

/**
 * The real DynamoDB client behind a process boundary and a fault injector: every request is a
 * side effect of `domain`, may be slowed down, and may be throttled (not applied) or lose its
 * answer (applied).
 * The adapters turn both into StateUnavailableError / QueueUnavailableError as they would for
 * the SDK's own errors once its retries are spent.
 */
export function faultyDynamo(
  raw: DynamoDBClient,
  domain: () => CrashDomain,
  plan: FaultPlan = NO_FAULTS,
  latencyMs?: () => number,
): DynamoDBClient {
  const send = (command: unknown) =>
    domain().effect(effectLabel(command), async () => {
      const latency = latencyMs?.() ?? 0;
      if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
      if (plan.chance("dynamoThrottle")) {
        plan.stats.fault("dynamodb.throttled");
        throw new ProvisionedThroughputExceededException({
          message: "The level of configured provisioned throughput for the table was exceeded (injected)",
          $metadata: { httpStatusCode: 400 },
        });
      }
      const result = await (raw.send as (command: unknown) => Promise<unknown>).call(raw, command);
      if (plan.chance("dynamoLostResponse")) {
        plan.stats.fault("dynamodb.answer-lost");
        throw Object.assign(new Error("request timed out after it was sent (injected)"), { name: "TimeoutError" });
      }
      return result;
    });
  return { send } as unknown as DynamoDBClient;
}

/** Which side effect an SQS command is: the queue's part of a cycle. */
const SQS_EFFECTS: Record<string, string> = {
  SendMessageBatch: "queue.send",
  SendMessage: "queue.deadLetter",
  ReceiveMessage: "queue.receive",
  DeleteMessage: "queue.ack",
  ChangeMessageVisibility: "queue.retryLater",
  GetQueueAttributes: "queue.count",
};

/** Every SQS request of the process is a side effect of it (the queue itself is the emulator). */
export function crashableSqs(client: SQSClient, domain: () => CrashDomain): SQSClient {
  const send = (command: unknown) => {
    const name = (command as { constructor: { name: string } }).constructor.name.replace(/Command$/, "");
    return domain().effect(SQS_EFFECTS[name] ?? `queue.${name}`, () =>
      (client.send as (command: unknown) => Promise<unknown>).call(client, command),
    );
  };
  return { send, destroy: () => undefined } as unknown as SQSClient;
}

/** Each page read of the Respondent API is a side effect of the process. */
export function crashableSource(source: ConversationSource, domain: () => CrashDomain): ConversationSource {
  return {
    async *listConversations(filter: ListConversationsFilter): AsyncGenerator<ConversationPageResult> {
      const pages = source.listConversations(filter)[Symbol.asyncIterator]();
      try {
        for (;;) {
          const next = await domain().effect("api.read", () => pages.next());
          if (next.done) return;
          yield next.value;
        }
      } finally {
        if (!domain().crashed) await pages.return?.(undefined);
      }
    },
  };
}

export function crashableSlack(poster: SlackPoster, domain: () => CrashDomain): SlackPoster {
  return {
    post: (channelId, message, threadTs) =>
      domain().effect("slack.post", () => poster.post(channelId, message, threadTs)),
    findAlert: (channelId, search) => domain().effect("slack.read", () => poster.findAlert(channelId, search)),
  };
}

/**
 * A second poller that polled the same snapshot writes the same state a moment earlier, so
 * our conditional write meets a real ConditionalCheckFailed in DynamoDB.
 */
export function conflictingStateStore(inner: StateStore, rival: StateStore, plan: FaultPlan): StateStore {
  return {
    getStates: (uids) => inner.getStates(uids),
    getStored: (uids) => inner.getStored(uids),
    async advanceState(
      uid: string,
      expected: ConversationState | undefined,
      next: ConversationState,
      marks?: readonly string[],
    ) {
      if (plan.chance("stateConflict")) {
        try {
          await rival.advanceState(uid, expected, next, marks);
          plan.stats.fault("dynamodb.conditional-conflict");
        } catch {
          // The rival lost a race of its own; our write goes ahead unopposed.
        }
      }
      await inner.advanceState(uid, expected, next, marks);
    },
    addFeedMarks: (uid, marks) => inner.addFeedMarks(uid, marks),
  };
}

/** SQS refusing a send: sometimes nothing went through, sometimes the first few events did. */
export function flakyQueue(inner: EventQueue, plan: FaultPlan): EventQueue {
  return {
    async sendEvents(events: readonly NewReplyEvent[]) {
      if (!plan.chance("queueSendFailure")) return inner.sendEvents(events);
      const delivered = Math.floor(plan.random() * events.length);
      plan.stats.fault(delivered > 0 ? "queue.send-failed-partway" : "queue.send-failed");
      if (delivered > 0) await inner.sendEvents(events.slice(0, delivered));
      throw new QueueUnavailableError(`could not queue events: SQS unavailable (injected after ${delivered})`);
    },
  };
}
