import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { LocalPortInUseError } from "../../src/errors.ts";
import type { Route } from "../../src/http/route.ts";
import { type HttpServer, MAX_BODY_BYTES, serveRoutes } from "../../src/http/server.ts";
import type { Log } from "../../src/ports.ts";

const errors: string[] = [];
const ignore = () => {};
const log: Log = { debug: ignore, info: ignore, warn: ignore, error: (message) => errors.push(message) };

let server: HttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  errors.length = 0;
});

const echo: Route = {
  method: "POST",
  path: "/echo",
  handle: async (request) => ({
    status: 200,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ body: request.rawBody.toString("utf8"), signature: request.headers["x-signature"] }),
  }),
};

describe("the local HTTP server", () => {
  it("hands a route the raw body and lower-cased headers, and sends its answer", async () => {
    server = await serveRoutes({ port: 0, routes: [echo], log });
    const response = await fetch(`${server.url}/echo?ignored=1`, {
      method: "POST",
      headers: { "X-Signature": "v0=abc" },
      body: "a=1&b=%20",
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ body: "a=1&b=%20", signature: "v0=abc" });
  });

  it("answers 404 for an unknown path and 405 for a known path with another method", async () => {
    server = await serveRoutes({ port: 0, routes: [echo], log });
    expect((await fetch(`${server.url}/nowhere`, { method: "POST" })).status).toBe(404);
    const wrongMethod = await fetch(`${server.url}/echo`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("POST");
  });

  it("refuses a body over the limit without calling the route", async () => {
    let called = false;
    const route: Route = {
      ...echo,
      handle: async () => {
        called = true;
        return { status: 200 };
      },
    };
    server = await serveRoutes({ port: 0, routes: [route], log });
    const response = await fetch(`${server.url}/echo`, { method: "POST", body: "x".repeat(MAX_BODY_BYTES + 1) });
    expect(response.status).toBe(413);
    expect(called).toBe(false);
  });

  it("runs a route's slow work only after its answer has reached the client", async () => {
    let release: () => void = ignore;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let workDone = false;
    const route: Route = {
      method: "POST",
      path: "/later",
      handle: async () => ({
        status: 200,
        body: "ok",
        afterAnswer: async () => {
          await gate;
          workDone = true;
        },
      }),
    };
    server = await serveRoutes({ port: 0, routes: [route], log });
    const response = await fetch(`${server.url}/later`, { method: "POST" });
    expect(await response.text()).toBe("ok");
    expect(workDone).toBe(false);
    release();
    await server.idle();
    expect(workDone).toBe(true);
  });

  it("answers 500 when a route throws, logs it, and keeps serving", async () => {
    const broken: Route = {
      method: "POST",
      path: "/broken",
      handle: async () => {
        throw new Error("boom");
      },
    };
    server = await serveRoutes({ port: 0, routes: [broken, echo], log });
    expect((await fetch(`${server.url}/broken`, { method: "POST" })).status).toBe(500);
    expect(errors).toEqual(["http route failed"]);
    expect((await fetch(`${server.url}/echo`, { method: "POST", body: "still" })).status).toBe(200);
  });

  it("names HTTP_PORT when the port is taken", async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
    const address = squatter.address();
    const port = typeof address === "object" && address ? address.port : 0;
    try {
      const attempt = serveRoutes({ port, routes: [echo], log });
      await expect(attempt).rejects.toBeInstanceOf(LocalPortInUseError);
      await expect(attempt).rejects.toThrow(/HTTP_PORT/);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
