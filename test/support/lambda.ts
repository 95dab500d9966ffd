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
