// STYLEKUBE_ENV_PROVIDER picks how env:up provides NATS and MinIO, and which
// processes a healthy environment must have recorded.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { selectedProvider } from "../../env/env-file.js";
import { PODMAN_SERVICE, recordedProcessNames, SERVER_NAMES } from "../../env/health.js";

describe("test environment provider", () => {
  it("defaults to the local binaries when unset or empty", () => {
    assert.equal(selectedProvider({}), "binaries");
    assert.equal(selectedProvider({ STYLEKUBE_ENV_PROVIDER: "" }), "binaries");
  });

  it("accepts testcontainers", () => {
    assert.equal(selectedProvider({ STYLEKUBE_ENV_PROVIDER: "testcontainers" }), "testcontainers");
  });

  it("names the variable and the choices for an unknown provider", () => {
    assert.throws(
      () => selectedProvider({ STYLEKUBE_ENV_PROVIDER: "docker" }),
      /STYLEKUBE_ENV_PROVIDER=docker is not a provider: use one of binaries, testcontainers/,
    );
  });

  it("expects podman's API service instead of NATS and MinIO processes with testcontainers", () => {
    assert.deepEqual(recordedProcessNames("binaries"), SERVER_NAMES);
    const names = recordedProcessNames("testcontainers");
    assert.ok(names.includes(PODMAN_SERVICE));
    assert.ok(!names.includes("nats-server") && !names.includes("minio"));
    assert.ok(names.includes("kube-apiserver"));
  });
});
