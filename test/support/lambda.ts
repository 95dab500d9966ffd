import type { Context } from "aws-lambda";

/** A Lambda invocation context as the runtime hands it over, for calling a real handler in a test. */
export function lambdaContext(
  options: { functionName: string; awsRequestId?: string; memoryMb?: number; remainingMs?: number } = {
    functionName: "respondent-notifier-test",
  },
): Context {
  const { functionName } = options;
  return {
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: String(options.memoryMb ?? 256),
    awsRequestId: options.awsRequestId ?? "request-1",
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "stream",
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => options.remainingMs ?? 50_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * The poller Lambda's environment as the stack sets it, pointed at this run's DynamoDB Local,
 * SQS emulator and a simulator (the secret itself is mocked at the SDK boundary by the test).
 */
export function pollerLambdaEnv(input: {
  secretArn: string;
  queueUrl: string;
  tableName: string;
  respondentUrl: string;
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  pollIntervalSeconds: number;
  logLevel?: string;
}): Record<string, string> {
  return {
    RESPONDENT_SECRET_ARN: input.secretArn,
    QUEUE_URL: input.queueUrl,
    AWS_ENDPOINT_URL_SQS: input.sqsEndpoint,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    RESPONDENT_API_URL: input.respondentUrl,
    RESPONDENT_MAX_RETRIES: "0",
    TABLE_NAME: input.tableName,
    DYNAMODB_ENDPOINT: input.dynamodbEndpoint,
    AWS_REGION: "us-east-1",
    OPS_SLACK_CHANNEL: "",
    POLL_INTERVAL_SECONDS: String(input.pollIntervalSeconds),
    POWERTOOLS_LOG_LEVEL: input.logLevel ?? "ERROR",
    POWERTOOLS_METRICS_NAMESPACE: "RespondentNotifierTest",
    POWERTOOLS_SERVICE_NAME: "poller",
  };
}
