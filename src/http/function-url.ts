import type { LambdaFunctionURLEvent } from "aws-lambda";
import { describeError } from "../errors.ts";
import type { Log } from "../ports.ts";
import { findRoute, type InboundRequest, type Route, type RouteAnswer } from "./route.ts";
import { MAX_BODY_BYTES } from "./server.ts";

/**
 * The Function URL side of the route shape (src/http/route.ts): the http Lambda turns its event
 * into an `InboundRequest`, finds the route, and gets the `RouteAnswer` to send. The bytes are the
 * ones Slack signed: a base64 body (Function URLs encode form posts so) is decoded, not re-encoded.
 */
export function inboundFromFunctionUrl(event: LambdaFunctionURLEvent, receivedAt: Date): InboundRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  const body = event.body ?? "";
  return {
    method: event.requestContext.http.method.toUpperCase(),
    path: event.rawPath || "/",
    headers,
    rawBody: Buffer.from(body, event.isBase64Encoded ? "base64" : "utf8"),
    receivedAt,
  };
}

/** What the route answers to a Function URL event (404/405/413/500 as the local server answers them). */
export async function answerFunctionUrl(
  routes: readonly Route[],
  event: LambdaFunctionURLEvent,
  log: Log,
  receivedAt = new Date(),
): Promise<RouteAnswer> {
  const request = inboundFromFunctionUrl(event, receivedAt);
  try {
    const found = findRoute(routes, request.method, request.path);
    if (!("handle" in found)) return found;
    if (request.rawBody.length > MAX_BODY_BYTES) {
      return { status: 413, headers: { "content-type": "text/plain" }, body: `body over ${MAX_BODY_BYTES} bytes\n` };
    }
    return await found.handle(request);
  } catch (error) {
    log.error("http route failed", { method: request.method, path: request.path, error: describeError(error) });
    return { status: 500, headers: { "content-type": "text/plain" }, body: "internal error\n" };
  }
}

/** A place to write the answer: Lambda's response stream, with its status and headers first. */
export interface AnswerStream {
  /** Sends status, headers and body, and ends the response: the caller (Slack) has its answer then. */
  send(answer: RouteAnswer): Promise<void>;
}

/**
 * One invocation: answer, end the response, then run the route's `afterAnswer` in the same
 * invocation. With response streaming the client has its whole answer once the stream ends, while
 * the handler keeps running until its promise settles (Node.js 24: work must be awaited in the
 * handler, as here: https://docs.aws.amazon.com/lambda/latest/dg/config-rs-write-functions.html).
 */
export async function serveFunctionUrl(
  routes: readonly Route[],
  event: LambdaFunctionURLEvent,
  stream: AnswerStream,
  log: Log,
): Promise<void> {
  const answer = await answerFunctionUrl(routes, event, log);
  await stream.send(answer);
  if (!answer.afterAnswer) return;
  try {
    await answer.afterAnswer();
  } catch (error) {
    log.error("work after the answer failed", { path: event.rawPath, error: describeError(error) });
  }
}
