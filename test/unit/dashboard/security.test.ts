// The dashboard's guards that need no servers: which preview URIs may be
// read, which requests count as same-origin, and the static token check.
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { createLogger } from "../../../common/log/logger.js";
import { Authorizer, bearerToken, sameOrigin } from "../../../controller/dashboard/auth.js";
import { readDashboardConfig } from "../../../controller/dashboard/config.js";
import { withinPrefix } from "../../../controller/dashboard/dashboard.js";

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
const action = { verb: "patch", resource: "styleservers", namespace: "ns", name: "default" } as const;

describe("withinPrefix", () => {
  it("accepts objects under the training's output only", () => {
    assert.ok(withinPrefix("s3://b/models/m/previews/step-1.jpg", "s3://b/models/m/"));
    assert.ok(withinPrefix("s3://b/models/m/previews/step-1.jpg", "s3://b/models/m"));
    assert.ok(!withinPrefix("s3://b/models/mosaic2/previews/x.jpg", "s3://b/models/m"));
    assert.ok(!withinPrefix("s3://other/models/m/x.jpg", "s3://b/models/m/"));
    assert.ok(!withinPrefix("file:///data/m/../../etc/passwd", "file:///data/m/"));
    assert.ok(!withinPrefix("file:///data/m/./x.jpg", "file:///data/m/"));
    assert.ok(!withinPrefix("file:///data/m//x.jpg", "file:///data/m/"));
    assert.ok(!withinPrefix("s3://b/models/m/", "s3://b/models/m/"));
  });
});

describe("sameOrigin", () => {
  it("accepts the page's own origin, configured ones, and non-browser clients", () => {
    assert.ok(sameOrigin(req({ host: "op:8080", origin: "http://op:8080" }), []));
    assert.ok(sameOrigin(req({ host: "op:8080", origin: "https://dash.example" }), ["https://dash.example"]));
    assert.ok(sameOrigin(req({ host: "op:8080" }), []));
    assert.ok(sameOrigin(req({ host: "op:8080", "sec-fetch-site": "same-origin" }), []));
  });
  it("refuses other sites", () => {
    assert.ok(!sameOrigin(req({ host: "op:8080", origin: "https://evil.example" }), []));
    assert.ok(!sameOrigin(req({ host: "op:8080", origin: "null" }), []));
    assert.ok(!sameOrigin(req({ host: "op:8080", "sec-fetch-site": "cross-site" }), []));
  });
});

describe("Authorizer with the dashboard token", () => {
  const auth = new Authorizer({
    token: "0123456789abcdef0123",
    tokenReview: false,
    audiences: [],
    kc: new k8s.KubeConfig(),
    log: createLogger("test"),
  });
  it("accepts the token and refuses anything else with 401", async () => {
    assert.deepEqual(await auth.authorize(req({ authorization: "Bearer 0123456789abcdef0123" }), action), {
      ok: true,
      user: "dashboard-token",
      via: "dashboard-token",
    });
    for (const authorization of [
      undefined,
      "Bearer nope",
      "Basic 0123456789abcdef0123",
      "0123456789abcdef0123",
    ]) {
      const r = await auth.authorize(req(authorization ? { authorization } : {}), action);
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.status, 401);
    }
  });
  it("parses bearer headers strictly", () => {
    assert.equal(bearerToken(req({ authorization: "bearer abc" })), "abc");
    assert.equal(bearerToken(req({ authorization: "Bearer a b" })), undefined);
  });
  it("is read-only without a token or TokenReview", () => {
    const none = new Authorizer({
      token: undefined,
      tokenReview: false,
      audiences: [],
      kc: new k8s.KubeConfig(),
      log: createLogger("test"),
    });
    assert.equal(none.actionsEnabled, false);
    assert.equal(auth.actionsEnabled, true);
  });
});

describe("dashboard config", () => {
  it("has safe defaults and refuses a short token without echoing it", () => {
    const c = readDashboardConfig({});
    assert.equal(c.STYLEKUBE_DASHBOARD, true);
    assert.equal(c.STYLEKUBE_DASHBOARD_TOKEN, undefined);
    assert.equal(c.STYLEKUBE_DASHBOARD_TOKEN_REVIEW, false);
    assert.equal(readDashboardConfig({ STYLEKUBE_DASHBOARD_TOKEN: "" }).STYLEKUBE_DASHBOARD_TOKEN, undefined);
    assert.throws(
      () => readDashboardConfig({ STYLEKUBE_DASHBOARD_TOKEN: "short-secret" }),
      (err: Error) => /STYLEKUBE_DASHBOARD_TOKEN/.test(err.message) && !err.message.includes("short-secret"),
    );
  });
});
