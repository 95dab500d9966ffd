import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describeError, LocalPortInUseError, LocalServiceError } from "../errors.ts";
import type { Log } from "../ports.ts";
import { findRoute, type InboundRequest, type Route, type RouteAnswer } from "./route.ts";

/** Slack sends at most a few kilobytes; Respondent webhooks are small too. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** A client that has not sent its whole request by then is cut off (slow-loris guard). */
const REQUEST_TIMEOUT_MS = 10_000;

export interface HttpServer {
  /** e.g. "http://127.0.0.1:3000" */
  url: string;
  port: number;
  /** Resolves once every answer has been sent and every `afterAnswer` has settled. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Serves `routes` on 127.0.0.1 only (the local runtime: a tunnel, not this server, is how
 * Slack would reach it). Port 0 picks a free port.
 */
export async function serveRoutes(options: { port: number; routes: readonly Route[]; log: Log }): Promise<HttpServer> {
  const { routes, log } = options;
  const pending = new Set<Promise<void>>();
  const idleWaiters: Array<() => void> = [];

  const track = (work: Promise<void>) => {
    pending.add(work);
    void work.finally(() => {
      pending.delete(work);
      if (pending.size === 0) for (const resolve of idleWaiters.splice(0)) resolve();
    });
  };

  const server = createServer((request, response) => track(serve(request, response)));
  server.requestTimeout = REQUEST_TIMEOUT_MS;

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    const method = request.method ?? "GET";
    let answer: RouteAnswer;
    try {
      const found = findRoute(routes, method, path);
      if ("handle" in found) {
        const rawBody = await readBody(request);
        answer = rawBody
          ? await found.handle({ method, path, headers: headersOf(request), rawBody, receivedAt: new Date() })
          : { status: 413, headers: { "content-type": "text/plain" }, body: `body over ${MAX_BODY_BYTES} bytes\n` };
      } else {
        answer = found;
      }
    } catch (error) {
      log.error("http route failed", { method, path, error: describeError(error) });
      answer = { status: 500, headers: { "content-type": "text/plain" }, body: "internal error\n" };
    }
    await send(response, answer);
    if (answer.afterAnswer) {
      try {
        await answer.afterAnswer();
      } catch (error) {
        log.error("http route's work after its answer failed", { method, path, error: describeError(error) });
      }
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE"
          ? new LocalPortInUseError(
              `HTTP_PORT ${options.port} is in use: stop what listens there, or set HTTP_PORT to another port (0 picks a free one)`,
            )
          : new LocalServiceError(`the HTTP server could not listen on port ${options.port}: ${error.message}`),
      ),
    );
    server.listen(options.port, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    idle() {
      if (pending.size === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await Promise.allSettled([...pending]);
    },
  };
}

function headersOf(request: IncomingMessage): InboundRequest["headers"] {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

/** The whole body, or undefined when it is over MAX_BODY_BYTES. */
async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(response: ServerResponse, answer: RouteAnswer): Promise<void> {
  return new Promise((resolve) => {
    response.once("close", () => resolve());
    response.writeHead(answer.status, answer.headers);
    response.end(answer.body ?? "");
  });
}
