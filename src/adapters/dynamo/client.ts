import { type ConsumedCapacity, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import type { TableSettings } from "../../config.ts";

/**
 * The DynamoDB client with every setting stated: a Lambda must fail fast and let its caller
 * (the next poll tick, the SQS redelivery) retry, rather than wait on SDK defaults.
 */
export function createDynamoDbClient(settings: TableSettings): DynamoDBClient {
  return new DynamoDBClient({
    region: settings.region,
    maxAttempts: 3,
    retryMode: "standard",
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 1_000,
      requestTimeout: 3_000,
      throwOnRequestTimeout: true,
    }),
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    // DynamoDB Local accepts any credentials: dummy ones mean no AWS account is needed. Any
    // other endpoint (e.g. https://dynamodb.eu-west-1.amazonaws.com, to manage a deployed
    // table from the CLI) uses the normal AWS credential chain.
    ...(settings.endpoint && isLoopback(settings.endpoint)
      ? { credentials: { accessKeyId: "local", secretAccessKey: "local" } }
      : {}),
  });
}

function isLoopback(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return host === "localhost" || host === "[::1]" || host.startsWith("127.");
}

/** Called once per DynamoDB request with the capacity it consumed, so a benchmark can count both. */
export type ConsumedCapacityHook = (operation: string, capacityUnits: { read: number; write: number }) => void;

export interface DynamoStoreOptions {
  onConsumedCapacity?: ConsumedCapacityHook;
}

/** Reports what one request consumed; `TOTAL` may give only `CapacityUnits`, which count for `kind`. */
export function reportCapacity(
  hook: ConsumedCapacityHook | undefined,
  operation: string,
  kind: "read" | "write",
  consumed: ConsumedCapacity | readonly ConsumedCapacity[] | undefined,
): void {
  if (!hook) return;
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
  hook(operation, { read, write });
}

/**
 * A write refused by its condition comes back as an error without a capacity figure, yet
 * DynamoDB charges it: reported as the one write unit an item under 1 KB costs.
 */
export function reportRefusedWrite(hook: ConsumedCapacityHook | undefined, operation: string): void {
  hook?.(operation, { read: 0, write: 1 });
}
