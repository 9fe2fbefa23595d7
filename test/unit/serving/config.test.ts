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
    ] as const) {
      assert.throws(() => readServerConfig(env), name);
    }
  });
});
