// One error shape for every stylekube HTTP API: the shared helper on a real
// express app on loopback (no test environment needed), and the operator's
// own port built with it.
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { after, before, describe, it } from "node:test";
import express from "express";
import { pino } from "pino";
import { errorClass, errorHandler, HttpError, BASE_ERROR_STATUS } from "../../../common/http/errors.js";
import { createHttpApp, startHttpServer } from "../../../controller/http-server.js";
import { ControllerMetrics } from "../../../controller/metrics.js";
import { ApiError, ERROR_STATUS } from "../../../serving/api-error.js";
import { DashboardError } from "../../../controller/dashboard/errors.js";

const TeapotError = errorClass("TeapotError", { ...BASE_ERROR_STATUS, teapot: 418 });

function captureLog() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  return { log, lines };
}

async function listen(app: express.Express): Promise<{ server: Server; url: string }> {
  const server = await startHttpServer("127.0.0.1", 0, app);
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe("errorClass", () => {
  it("takes the status from its table, so a code has one status", () => {
    const e = new TeapotError("teapot", "short and stout", { "retry-after": "1" });
    assert.ok(e instanceof HttpError);
    assert.equal(e.status, 418);
    assert.equal(e.code, "teapot");
    assert.equal(e.name, "TeapotError");
    assert.deepEqual(e.headers, { "retry-after": "1" });
    // The model server's table is unchanged: its codes keep their statuses.
    assert.equal(new ApiError("style_not_found", "x").status, 404);
    assert.equal(new ApiError("overloaded", "x").status, 429);
    assert.equal(new ApiError("model_load_failed", "x").status, 422);
    assert.equal(new ApiError("upload_too_slow", "x").status, 408);
    assert.equal(new ApiError("upload_timeout", "x").status, 408);
    assert.equal(Object.keys(ERROR_STATUS).length, 21);
    assert.equal(new DashboardError("upstream_failed", "x").status, 502);
  });
});

describe("errorHandler", () => {
  const { log, lines } = captureLog();
  let server: Server;
  let url: string;
  before(async () => {
    const app = express();
    app.post("/json", express.json({ limit: "16b" }), (_req, res) => void res.json({}));
    app.get("/teapot", () => {
      throw new TeapotError("teapot", "I am a teapot", { "retry-after": "3" });
    });
    app.get("/bug", () => {
      throw new Error("secret detail of a bug");
    });
    app.get("/late", (_req, res) => {
      res.writeHead(200, { "content-type": "image/jpeg" });
      res.write("partial");
      throw new TeapotError("teapot", "too late for a status");
    });
    app.get("/p/:name", (_req, res) => void res.json({}));
    app.use(errorHandler(log));
    ({ server, url } = await listen(app));
  });
  after(() => server.close());

  const body = async (res: Response) => (await res.json()) as { error: { code: string; message: string } };

  it("sends an HttpError as {error: {code, message}} with its status and headers", async () => {
    const res = await fetch(`${url}/teapot`);
    assert.equal(res.status, 418);
    assert.equal(res.headers.get("retry-after"), "3");
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.deepEqual(await body(res), { error: { code: "teapot", message: "I am a teapot" } });
  });

  it("answers body-parser's and express's own 4xx in the same shape", async () => {
    const big = await fetch(`${url}/json`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: "0123456789abcdef" }),
    });
    assert.equal(big.status, 413);
    assert.equal((await body(big)).error.code, "payload_too_large");
    const bad = await fetch(`${url}/json`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    assert.equal(bad.status, 400);
    assert.match((await body(bad)).error.message, /not JSON/);
    const escape = await fetch(`${url}/p/%E0%A4%A`);
    assert.equal(escape.status, 400);
    assert.equal((await body(escape)).error.code, "invalid_request");
  });

  it("answers anything else as a 500 that reveals nothing, and logs it with its stack", async () => {
    const res = await fetch(`${url}/bug`);
    assert.equal(res.status, 500);
    const b = await body(res);
    assert.equal(b.error.code, "internal");
    assert.doesNotMatch(b.error.message, /secret/);
    const logged = lines.find((l) => l.msg === "unexpected error") as { err?: { stack?: string } };
    assert.match(logged?.err?.stack ?? "", /secret detail of a bug\n\s+at /);
  });

  it("cuts a response that has already started instead of sending a second status", async () => {
    await assert.rejects(async () => {
      const res = await fetch(`${url}/late`);
      await res.arrayBuffer();
    });
  });
});

describe("the operator's HTTP port", () => {
  let ready = false;
  let server: Server;
  let url: string;
  before(async () => {
    ({ server, url } = await listen(
      createHttpApp({
        metrics: new ControllerMetrics(),
        health: { ready: () => ({ ok: ready, detail: ready ? "ok" : "caches not synced" }) },
        log: captureLog().log,
      }),
    ));
  });
  after(() => server.close());

  it("serves health, readiness and metrics, and answers other paths in the shared error shape", async () => {
    assert.equal(await (await fetch(`${url}/healthz`)).text(), "ok\n");
    const notReady = await fetch(`${url}/readyz`);
    assert.equal(notReady.status, 503);
    assert.equal(await notReady.text(), "caches not synced\n");
    ready = true;
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    assert.match(await (await fetch(`${url}/metrics`)).text(), /^stylekube_build_info\{/m);
    const missing = await fetch(`${url}/nope`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), {
      error: { code: "not_found", message: "GET /nope is not a route" },
    });
  });
});
