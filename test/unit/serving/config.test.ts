import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readServerConfig } from "../../../serving/config.js";

describe("server configuration from the environment", () => {
  it("has the documented defaults (port 8080, engine auto, one inference at a time, 20 MB bodies)", () => {
    const c = readServerConfig({});
    assert.equal(c.STYLEKUBE_HTTP_PORT, 8080);
    assert.equal(c.STYLEKUBE_ENGINE, "auto");
    assert.equal(c.STYLEKUBE_CONCURRENCY, 1);
    assert.equal(c.STYLEKUBE_MAX_BODY_BYTES, 20 * 1024 * 1024);
    assert.deepEqual(c.STYLEKUBE_STYLES, {});
  });

  it("has secure defaults for slow clients and the admin API", () => {
    const c = readServerConfig({});
    assert.equal(c.STYLEKUBE_HEADERS_TIMEOUT_MS, 10_000);
    assert.equal(c.STYLEKUBE_BODY_TIMEOUT_MS, 120_000);
    assert.equal(c.STYLEKUBE_MIN_UPLOAD_BYTES_PER_SECOND, 8192);
    assert.equal(c.STYLEKUBE_MIN_UPLOAD_WINDOW_MS, 10_000);
    assert.equal(c.STYLEKUBE_MAX_INFLIGHT_BODY_BYTES, 64 * 1024 * 1024);
    assert.equal(c.STYLEKUBE_ADMIN_TOKEN, undefined);
    assert.equal(c.STYLEKUBE_ADMIN_API, undefined);
    // Each relaxation is an explicit value.
    const relaxed = readServerConfig({
      STYLEKUBE_BODY_TIMEOUT_MS: "0",
      STYLEKUBE_MIN_UPLOAD_BYTES_PER_SECOND: "0",
    });
    assert.equal(relaxed.STYLEKUBE_BODY_TIMEOUT_MS, 0);
    assert.equal(relaxed.STYLEKUBE_MIN_UPLOAD_BYTES_PER_SECOND, 0);
  });

  it("reads STYLEKUBE_STYLES as the operator writes it, normalising URIs", () => {
    const c = readServerConfig({
      STYLEKUBE_STYLES: JSON.stringify({
        mosaic: "s3://bucket/mosaic/model/",
        candy: "file:///models/candy/model/",
      }),
      STYLEKUBE_HTTP_PORT: "9000",
      STYLEKUBE_ENGINE: "",
    });
    assert.deepEqual(c.STYLEKUBE_STYLES, {
      mosaic: "s3://bucket/mosaic/model/",
      candy: "file:///models/candy/model/",
    });
    assert.equal(c.STYLEKUBE_HTTP_PORT, 9000);
    assert.equal(c.STYLEKUBE_ENGINE, "auto", "an empty variable counts as unset");
  });

  it("names the variable that is wrong", () => {
    for (const [env, name] of [
      [{ STYLEKUBE_STYLES: "{not json" }, /STYLEKUBE_STYLES: not JSON/],
      [{ STYLEKUBE_STYLES: '{"Bad_Name": "s3://b/m/"}' }, /STYLEKUBE_STYLES/],
      [{ STYLEKUBE_STYLES: '{"ok": "http://example.com/m"}' }, /STYLEKUBE_STYLES\.ok/],
      [{ STYLEKUBE_ENGINE: "cuda" }, /STYLEKUBE_ENGINE/],
      [{ STYLEKUBE_HTTP_PORT: "70000" }, /STYLEKUBE_HTTP_PORT/],
      [{ STYLEKUBE_CONCURRENCY: "0" }, /STYLEKUBE_CONCURRENCY/],
      [{ STYLEKUBE_ADMIN_API: "true" }, /STYLEKUBE_ADMIN_API: true needs STYLEKUBE_ADMIN_TOKEN/],
      [
        { STYLEKUBE_MAX_BODY_BYTES: "2000000", STYLEKUBE_MAX_INFLIGHT_BODY_BYTES: "1000000" },
        /STYLEKUBE_MAX_INFLIGHT_BODY_BYTES: must be at least STYLEKUBE_MAX_BODY_BYTES/,
      ],
      [
        { STYLEKUBE_BODY_TIMEOUT_MS: "500" },
        /STYLEKUBE_BODY_TIMEOUT_MS: must be 0 \(no limit\) or at least 1000 ms/,
      ],
      [{ STYLEKUBE_HEADERS_TIMEOUT_MS: "0" }, /STYLEKUBE_HEADERS_TIMEOUT_MS/],
    ] as const) {
      assert.throws(() => readServerConfig(env), name);
    }
  });
});
