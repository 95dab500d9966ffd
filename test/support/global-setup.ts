import type { TestProject } from "vitest/node";
import { startDynamoDbLocal } from "../../src/local/dynamodb-local.ts";
import { startLocalSqs } from "../../src/local/sqs-local.ts";

/**
 * One in-memory DynamoDB Local and one in-memory SQS emulator for the whole run; every test
 * file makes its own tables and queues in them. DYNAMODB_ENDPOINT / SQS_ENDPOINT point the
 * tests at already running ones instead (a machine without Java, say).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: Array<() => Promise<void>> = [];
  const externalDynamo = process.env.DYNAMODB_ENDPOINT?.trim();
  if (externalDynamo) {
    project.provide("dynamodbEndpoint", externalDynamo);
  } else {
    const dynamo = await startDynamoDbLocal({ log: (line) => console.log(`[dynamodb-local] ${line}`) });
    project.provide("dynamodbEndpoint", dynamo.endpoint);
    stops.push(() => dynamo.stop());
  }
  const externalSqs = process.env.SQS_ENDPOINT?.trim();
  if (externalSqs) {
    project.provide("sqsEndpoint", externalSqs);
  } else {
    const sqs = await startLocalSqs();
    project.provide("sqsEndpoint", sqs.endpoint);
    stops.push(() => sqs.stop());
  }
  return async () => {
    for (const stop of stops) await stop();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
    sqsEndpoint: string;
  }
}
