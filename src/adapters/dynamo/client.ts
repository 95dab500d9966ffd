import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import type { TableSettings } from "../../config.ts";
import { isLoopback } from "../loopback.ts";
import { type ConsumedCapacityHook, reportConsumedCapacity } from "./capacity.ts";

export interface DynamoDbClientOptions {
  /**
   * Told what each request consumed (a benchmark, a test). Without it nothing asks for
   * consumed capacity, so a deployed client sends and receives nothing extra.
   */
  onConsumedCapacity?: ConsumedCapacityHook;
}

/**
 * The DynamoDB client with every setting stated: a Lambda must fail fast and let its caller
 * (the next poll tick, the SQS redelivery) retry, rather than wait on SDK defaults.
 */
export function createDynamoDbClient(settings: TableSettings, options: DynamoDbClientOptions = {}): DynamoDBClient {
  const client = new DynamoDBClient({
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
  if (options.onConsumedCapacity) reportConsumedCapacity(client, options.onConsumedCapacity);
  return client;
}
