import {
  ConditionalCheckFailedException,
  type ConsumedCapacity,
  type DynamoDBClient,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  conversationStateKey,
  deliveryKey,
  healthKey,
  SEEN_SNAPSHOT_PARTITION,
  SUBSCRIPTIONS_PARTITION,
  threadKey,
} from "./table.ts";

/**
 * Called once per DynamoDB request with the capacity it consumed, so that a benchmark or a
 * test can count both. `operation` is `<item>.<access>`, e.g. `state.write` (see operationLabel).
 */
export type ConsumedCapacityHook = (operation: string, capacityUnits: { read: number; write: number }) => void;

type Access = "read" | "write" | "update" | "delete" | "transaction";

/**
 * The commands that accept `ReturnConsumedCapacity`, with the access each one stands for.
 * PartiQL (ExecuteStatement and its batch and transaction forms) is left out: no adapter uses
 * it, and whether it reads or writes is in the statement's text.
 */
const ACCESS_BY_COMMAND: Readonly<Record<string, Access>> = {
  GetItemCommand: "read",
  BatchGetItemCommand: "read",
  QueryCommand: "read",
  ScanCommand: "read",
  TransactGetItemsCommand: "read",
  PutItemCommand: "write",
  BatchWriteItemCommand: "write",
  UpdateItemCommand: "update",
  DeleteItemCommand: "delete",
  TransactWriteItemsCommand: "transaction",
};

/**
 * Makes every request of `client` ask for its consumed capacity and tells `hook` about it.
 * A write refused by its condition comes back as an error without a capacity figure, yet
 * DynamoDB charges it: it is reported as the one write unit an item under 1 KB costs.
 */
export function reportConsumedCapacity(client: DynamoDBClient, hook: ConsumedCapacityHook): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const access = ACCESS_BY_COMMAND[context.commandName ?? ""];
      if (!access) return next(args);
      const input = args.input as Record<string, unknown>;
      const operation = operationLabel(access, input);
      let result: Awaited<ReturnType<typeof next>>;
      try {
        result = await next({ ...args, input: { ...input, ReturnConsumedCapacity: "TOTAL" } as typeof args.input });
      } catch (error) {
        if (isRefusedByCondition(error)) hook(operation, { read: 0, write: 1 });
        throw error;
      }
      const output = result.output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] };
      hook(operation, capacityUnits(access === "read" ? "read" : "write", output.ConsumedCapacity));
      return result;
    },
    { step: "initialize", name: "reportConsumedCapacity" },
  );
}

/** `TOTAL` may give only `CapacityUnits`, which then count for the command's own kind. */
function capacityUnits(
  kind: "read" | "write",
  consumed: ConsumedCapacity | readonly ConsumedCapacity[] | undefined,
): { read: number; write: number } {
  const entries: readonly ConsumedCapacity[] =
    consumed === undefined ? [] : "length" in consumed ? consumed : [consumed];
  let read = 0;
  let write = 0;
  for (const entry of entries) {
    if (entry.ReadCapacityUnits !== undefined || entry.WriteCapacityUnits !== undefined) {
      read += entry.ReadCapacityUnits ?? 0;
      write += entry.WriteCapacityUnits ?? 0;
    } else if (kind === "read") {
      read += entry.CapacityUnits ?? 0;
    } else {
      write += entry.CapacityUnits ?? 0;
    }
  }
  return { read, write };
}

function isRefusedByCondition(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error instanceof TransactionCanceledException &&
      (error.CancellationReasons ?? []).some((reason) => reason.Code === "ConditionalCheckFailed"))
  );
}

/** The partition (or partition prefix) of each kind of item, from the table layout's own keys. */
const ITEMS_BY_PARTITION: ReadonlyArray<readonly [partition: string, item: string]> = [
  [conversationStateKey("").pk.S, "state"],
  [SUBSCRIPTIONS_PARTITION, "subscriptions"],
  [deliveryKey("", "").pk.S, "ledger"],
  [threadKey("", "").pk.S, "threads"],
  [healthKey("").pk.S, "health"],
  [SEEN_SNAPSHOT_PARTITION, "snapshot"],
];

/**
 * `<item>.<access>`: which kind of item the request touches (from the partition of its key,
 * e.g. `CONV#…` is `state`; `table` when none is recognised) and how (read, write, update,
 * delete, transaction). So `PutItem CONV#…` is `state.write`, `Query SUBS` is
 * `subscriptions.read`. A batch or a transaction is named after its first item.
 */
function operationLabel(access: Access, input: Record<string, unknown>): string {
  const partition = partitionOf(input);
  const item = ITEMS_BY_PARTITION.find(([prefix]) => partition?.startsWith(prefix))?.[1] ?? "table";
  return `${item}.${access}`;
}

type KeyedInput = {
  Item?: KeyAttributes;
  Key?: KeyAttributes;
  /** Our queries name their partition `:pk`. */
  ExpressionAttributeValues?: { ":pk"?: { S?: string } };
  RequestItems?: Record<
    string,
    | { Keys?: KeyAttributes[] }
    | Array<{ PutRequest?: { Item?: KeyAttributes }; DeleteRequest?: { Key?: KeyAttributes } }>
  >;
  TransactItems?: Array<Record<string, { Item?: KeyAttributes; Key?: KeyAttributes } | undefined>>;
};
type KeyAttributes = { pk?: { S?: string } };

function partitionOf(input: Record<string, unknown>): string | undefined {
  const keyed = input as KeyedInput;
  const direct = keyed.Item ?? keyed.Key;
  if (direct) return direct.pk?.S;
  if (keyed.ExpressionAttributeValues?.[":pk"]) return keyed.ExpressionAttributeValues[":pk"].S;
  const requests = Object.values(keyed.RequestItems ?? {})[0];
  if (requests && !Array.isArray(requests)) return requests.Keys?.[0]?.pk?.S;
  if (requests) return (requests[0]?.PutRequest?.Item ?? requests[0]?.DeleteRequest?.Key)?.pk?.S;
  const action = Object.values(keyed.TransactItems?.[0] ?? {})[0];
  return (action?.Item ?? action?.Key)?.pk?.S;
}
