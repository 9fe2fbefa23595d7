import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { adminApiState, bearerMatches } from "../../../serving/admin-api.js";

describe("admin API: on only with a token", () => {
  it("is off without a token, saying how to turn it on", () => {
    const state = adminApiState({ STYLEKUBE_ADMIN_API: undefined, STYLEKUBE_ADMIN_TOKEN: undefined });
    assert.equal(state.enabled, false);
    assert.match(!state.enabled ? state.reason : "", /STYLEKUBE_ADMIN_TOKEN is not set; set it/);
  });

  it("is on with a token, and off with STYLEKUBE_ADMIN_API=false even then", () => {
    assert.deepEqual(adminApiState({ STYLEKUBE_ADMIN_API: undefined, STYLEKUBE_ADMIN_TOKEN: "s3cret" }), {
      enabled: true,
      token: "s3cret",
    });
    const off = adminApiState({ STYLEKUBE_ADMIN_API: false, STYLEKUBE_ADMIN_TOKEN: "s3cret" });
    assert.deepEqual(off, { enabled: false, reason: "STYLEKUBE_ADMIN_API=false" });
  });

  it("accepts exactly the configured bearer token", () => {
    assert.equal(bearerMatches("Bearer s3cret", "s3cret"), true);
    assert.equal(bearerMatches("bearer s3cret", "s3cret"), true, "the scheme is case-insensitive");
    for (const header of [undefined, "", "s3cret", "Bearer s3cre", "Bearer s3cret2", "Basic s3cret"])
      assert.equal(bearerMatches(header, "s3cret"), false, String(header));
  });
});
