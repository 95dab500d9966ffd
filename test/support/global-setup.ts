import type { TestProject } from "vitest/node";
import { startDynamoDbLocal } from "../../src/local/dynamodb-local.ts";

/**
 * One in-memory DynamoDB Local for the whole run; every test file makes its own tables in it.
 * DYNAMODB_ENDPOINT points the tests at an already running one instead (a machine without Java).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.DYNAMODB_ENDPOINT?.trim();
  if (external) {
    project.provide("dynamodbEndpoint", external);
    return async () => {};
  }
  const dynamo = await startDynamoDbLocal({ log: (line) => console.log(`[dynamodb-local] ${line}`) });
  project.provide("dynamodbEndpoint", dynamo.endpoint);
  return () => dynamo.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
  }
}
