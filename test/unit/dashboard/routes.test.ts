// The dashboard's routes on express, with its guards and errors, on loopback
// with in-memory caches (no API server): what the page and scripts get back.
import assert from "node:assert/strict";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { pino } from "pino";
import { readDashboardConfig } from "../../../controller/dashboard/config.js";
import { Dashboard, type DashboardOptions } from "../../../controller/dashboard/dashboard.js";
import { RecentEvents } from "../../../controller/dashboard/recent-events.js";
import { createHttpApp, startHttpServer } from "../../../controller/http-server.js";
import { ControllerMetrics } from "../../../controller/metrics.js";

const TOKEN = "0123456789abcdef0123";

/** An informer's read side over a fixed list. */
const cache = <T>(items: T[] = []) => ({
  on: () => undefined,
  list: () => items,
  get: () => undefined,
});

describe("dashboard routes", () => {
  let ready = false;
  let server: Server;
  let url: string;
  let dashboard: Dashboard;
  before(async () => {
    const kc = new k8s.KubeConfig();
    // Never contacted: every request here is refused before an API call.
    kc.loadFromOptions({
      clusters: [{ name: "c", server: "http://127.0.0.1:9" }],
      users: [{ name: "u" }],
      contexts: [{ name: "x", cluster: "c", user: "u" }],
      currentContext: "x",
    });
    const opts = {
      kc,
      config: readDashboardConfig({
        STYLEKUBE_DASHBOARD_TOKEN: TOKEN,
        STYLEKUBE_DASHBOARD_MAX_UPLOAD_BYTES: "2048",
      }),
      trainings: { trainings: cache(), pods: cache(), progress: { onMessage: () => undefined } },
      servers: { servers: cache() },
      recentEvents: new RecentEvents(),
      record: async () => undefined,
      ready: () => ready,
      log: pino({ level: "silent" }),
    } as unknown as DashboardOptions;
    dashboard = new Dashboard(opts);
    server = await startHttpServer(
      "127.0.0.1",
      0,
      createHttpApp({
        metrics: new ControllerMetrics(),
        health: { ready: () => ({ ok: true, detail: "ok" }) },
        log: pino({ level: "silent" }),
        dashboard: dashboard.router,
      }),
    );
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    dashboard.close();
    server.close();
  });

  const error = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;
  const post = (path: string, headers: Record<string, string>, body: string | Buffer) =>
    fetch(`${url}${path}`, { method: "POST", headers, body });

  it("serves the page with its security headers, and only to GET", async () => {
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    assert.equal(page.headers.get("x-frame-options"), "DENY");
    const put = await fetch(url, { method: "PUT" });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get("allow"), "GET, HEAD");
    assert.equal(await error(put), "method_not_allowed");
    const missing = await fetch(`${url}/assets/nope.js`);
    assert.equal(missing.status, 404);
    assert.equal(await error(missing), "not_found");
  });

  it("answers 503 with Retry-After until the caches have synced", async () => {
    const res = await fetch(`${url}/api/state`);
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("retry-after"), "2");
    assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    assert.equal(await error(res), "unavailable");
    ready = true;
    const state = await fetch(`${url}/api/state`);
    assert.equal(state.status, 200);
    assert.deepEqual(await state.json(), {
      trainings: [],
      servers: [],
      actions: { enabled: true, methods: ["dashboard-token"] },
    });
  });

  it("refuses bad names, unknown routes, other origins, missing tokens and bad bodies, each with its code", async () => {
    ready = true;
    const json = { "content-type": "application/json" };
    const auth = { ...json, authorization: `Bearer ${TOKEN}` };
    const cases: [string, Promise<Response>, number, string][] = [
      ["bad name", fetch(`${url}/api/trainings/NS/x`), 400, "invalid_request"],
      ["unknown route", fetch(`${url}/api/nope`), 404, "not_found"],
      ["unknown training", fetch(`${url}/api/trainings/ns/x`), 404, "not_found"],
      [
        "other origin",
        post("/api/servers/ns/x/scale", { ...auth, origin: "https://evil.example" }, "{}"),
        403,
        "forbidden",
      ],
      ["no token", post("/api/servers/ns/x/scale", json, '{"replicas":1}'), 401, "unauthorized"],
      [
        "form body",
        post("/api/servers/ns/x/scale", { authorization: auth.authorization }, "a=1"),
        415,
        "unsupported_media_type",
      ],
      ["bad JSON", post("/api/servers/ns/x/scale", auth, "{nope"), 400, "invalid_request"],
      [
        "large JSON",
        post("/api/servers/ns/x/scale", auth, `{"a":"${"x".repeat(20_000)}"}`),
        413,
        "payload_too_large",
      ],
      ["bad replicas", post("/api/servers/ns/x/scale", auth, '{"replicas":-1}'), 400, "invalid_request"],
      [
        "not an image",
        post("/api/servers/ns/x/styles/mosaic/stylize", { "content-type": "text/plain" }, "hi"),
        415,
        "unsupported_media_type",
      ],
    ];
    for (const [name, response, status, code] of cases) {
      const res = await response;
      assert.equal(res.status, status, name);
      assert.equal(await error(res), code, name);
    }
  });
});
