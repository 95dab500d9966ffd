import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * `GET /v1/messaging/conversations` over real HTTP, serving whatever `source` holds at the
 * moment of each request, so the real RespondentApiClient (fetch, timeouts, retries, paging by
 * the applied page size, schema checks) runs unchanged. Faults are taken one per request from a
 * queue; `intercept` lets a hostile-input test answer any request with any body.
 */

export interface SnapshotSource {
  /** Contract items for the filter, in listing order (fresh objects: they may be shuffled). */
  listing(projectId: string | undefined): unknown[];
  pageCap: number;
  includeTotal: boolean;
  shufflePage?<T>(items: T[]): T[];
}

export type ApiFault =
  | { kind: "status"; status: number; retryAfter?: string; body?: string }
  /** Never answers; the client's timeout ends the attempt. */
  | { kind: "timeout" }
  /** HTTP 200 with an HTML error page (a proxy in the way). */
  | { kind: "non-json" };

export interface ServedRequest {
  page: number;
  pageSize: number;
  projectId: string | undefined;
  /** The fault served instead of a page, if any. */
  fault: ApiFault["kind"] | undefined;
  status: number | undefined;
}

export interface InterceptAnswer {
  status?: number;
  body: string;
  contentType?: string;
}

export interface SnapshotServerOptions {
  apiKey: string;
  apiSecret: string;
  source: SnapshotSource;
  /** Called with each request before the source is read; an answer replaces the page. */
  intercept?: (request: ServedRequest) => InterceptAnswer | undefined;
  /** Told about every fault served (for the run's numbers). */
  onFault?: (fault: ApiFault) => void;
}

export interface SnapshotServer {
  url: string;
  readonly requests: readonly ServedRequest[];
  /** The next `count` requests get `fault`, after the faults already queued. */
  failNext(count: number, fault: ApiFault): void;
  clearFaults(): void;
  close(): Promise<void>;
}

const DEFAULT_PAGE_SIZE = 20;

export async function startSnapshotServer(options: SnapshotServerOptions): Promise<SnapshotServer> {
  const requests: ServedRequest[] = [];
  const faults: ApiFault[] = [];

  const send = (response: ServerResponse, status: number, body: string, contentType = "application/json") => {
    if (response.destroyed) return;
    response.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
    response.end(body);
  };

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const query = url.searchParams;
    const served: ServedRequest = {
      page: Number(query.get("page") ?? "1"),
      pageSize: Number(query.get("pageSize") ?? DEFAULT_PAGE_SIZE),
      projectId: query.get("projectId") ?? undefined,
      fault: undefined,
      status: undefined,
    };
    requests.push(served);

    const fault = faults.shift();
    if (fault) {
      served.fault = fault.kind;
      options.onFault?.(fault);
      if (fault.kind === "timeout") return;
      if (fault.kind === "non-json") {
        served.status = 200;
        send(response, 200, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html");
        return;
      }
      served.status = fault.status;
      if (fault.retryAfter !== undefined) response.setHeader("retry-after", fault.retryAfter);
      send(response, fault.status, fault.body ?? JSON.stringify({ statusCode: fault.status, message: "injected" }));
      return;
    }

    if (url.pathname !== "/v1/messaging/conversations") {
      served.status = 404;
      send(response, 404, JSON.stringify({ statusCode: 404, message: "Not Found" }));
      return;
    }
    if (request.headers["x-api-key"] !== options.apiKey || request.headers["x-api-secret"] !== options.apiSecret) {
      served.status = 401;
      send(response, 401, JSON.stringify({ statusCode: 401, message: "Unauthorized" }));
      return;
    }
    const intercepted = options.intercept?.(served);
    if (intercepted) {
      served.status = intercepted.status ?? 200;
      send(response, served.status, intercepted.body, intercepted.contentType);
      return;
    }

    const { source } = options;
    const items = source.listing(served.projectId);
    const pageSize = Math.min(Math.max(1, served.pageSize || DEFAULT_PAGE_SIZE), source.pageCap);
    const page = Math.max(1, Math.floor(served.page) || 1);
    const slice = items.slice((page - 1) * pageSize, page * pageSize);
    const results = source.shufflePage ? source.shufflePage(slice) : slice;
    served.status = 200;
    send(
      response,
      200,
      JSON.stringify({ ...(source.includeTotal ? { totalResults: items.length } : {}), page, pageSize, results }),
    );
  };

  const server = createServer((request, response) => {
    try {
      handle(request, response);
    } catch {
      send(response, 500, JSON.stringify({ statusCode: 500, message: "snapshot server failed" }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext(count, fault) {
      for (let index = 0; index < count; index += 1) faults.push(fault);
    },
    clearFaults() {
      faults.length = 0;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
