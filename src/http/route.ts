/**
 * The one shape of an inbound HTTP route, whatever serves it: the local server
 * (src/http/server.ts) on HTTP_PORT and the deployed Lambda behind its Function URL both
 * turn a request into an `InboundRequest`, find the route by method and path, and send its
 * `RouteAnswer`. A route verifies its caller from the raw bytes before parsing anything.
 */
export interface InboundRequest {
  method: string;
  /** Path without the query string, e.g. "/slack/events". */
  path: string;
  /** Header names in lower case; a repeated header joined with ", ". */
  headers: Readonly<Record<string, string | undefined>>;
  /** The body exactly as received (signatures are computed over these bytes). */
  rawBody: Buffer;
  receivedAt: Date;
}

export interface RouteAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /**
   * Slow work to run once the answer has been sent (Slack wants its answer within 3 s,
   * Respondent its 2xx). The runtime awaits it after answering and logs what it throws;
   * the route must already have made it durable or idempotent if losing it would lose data.
   */
  afterAnswer?: () => Promise<void>;
}

export interface Route {
  method: "GET" | "POST";
  path: string;
  handle(request: InboundRequest): Promise<RouteAnswer>;
}

/** The route for a request, or the answer for none (404, or 405 when only the method differs). */
export function findRoute(routes: readonly Route[], method: string, path: string): Route | RouteAnswer {
  const samePath = routes.filter((route) => route.path === path);
  const route = samePath.find((candidate) => candidate.method === method.toUpperCase());
  if (route) return route;
  if (samePath.length > 0)
    return {
      status: 405,
      headers: { allow: samePath.map((candidate) => candidate.method).join(", "), "content-type": "text/plain" },
      body: `${method} is not allowed on ${path}\n`,
    };
  return { status: 404, headers: { "content-type": "text/plain" }, body: `no route for ${method} ${path}\n` };
}
