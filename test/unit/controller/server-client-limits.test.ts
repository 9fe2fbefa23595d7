// The chart's server.clientLimits reach every StyleServer pod: the operator
// reads them from STYLEKUBE_SERVER_CLIENT_LIMITS and puts the server's own
// variables into the Deployment it builds; keys left out are not set, so the
// server's defaults apply.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateStyleServer } from "../../../common/api/index.js";
import { readControllerConfig } from "../../../controller/config.js";
import { buildDeployment } from "../../../controller/serving/server-resources.js";
import { readServerConfig } from "../../../serving/config.js";

const server = () => {
  const v = validateStyleServer({
    apiVersion: "stylekube.io/v1alpha1",
    kind: "StyleServer",
    metadata: { name: "api", namespace: "default", uid: "u-1" },
    spec: {},
  });
  assert.ok(v.ok);
  return v.value;
};

const podEnv = (env: Record<string, string>) =>
  Object.fromEntries(
    buildDeployment(server(), readControllerConfig(env)).spec!.template.spec!.containers[0]!.env!.map((e) => [
      e.name,
      e.value,
    ]),
  );

describe("the model server's client limits from the chart to the pods", () => {
  it("sets none by default: the server's own defaults apply", () => {
    const env = podEnv({});
    assert.equal(env.STYLEKUBE_MIN_UPLOAD_BYTES_PER_SECOND, undefined);
    assert.equal(env.STYLEKUBE_HEADERS_TIMEOUT_MS, undefined);
    assert.equal(env.STYLEKUBE_ADMIN_API, "false");
  });

  it("sets exactly the keys given, as the server's variables, which the server accepts", () => {
    const env = podEnv({
      STYLEKUBE_SERVER_CLIENT_LIMITS: JSON.stringify({ minUploadBytesPerSecond: 0, bodyTimeoutMs: 300000 }),
    });
    assert.equal(env.STYLEKUBE_MIN_UPLOAD_BYTES_PER_SECOND, "0");
    assert.equal(env.STYLEKUBE_BODY_TIMEOUT_MS, "300000");
    assert.equal(env.STYLEKUBE_HEADERS_TIMEOUT_MS, undefined);
    const config = readServerConfig(
      Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
    );
    assert.equal(config.STYLEKUBE_MIN_UPLOAD_BYTES_PER_SECOND, 0);
    assert.equal(config.STYLEKUBE_BODY_TIMEOUT_MS, 300_000);
  });

  it("refuses unknown keys and bad JSON, naming the variable", () => {
    assert.throws(
      () => readControllerConfig({ STYLEKUBE_SERVER_CLIENT_LIMITS: '{"minUploadRate": 1}' }),
      /STYLEKUBE_SERVER_CLIENT_LIMITS/,
    );
    assert.throws(
      () => readControllerConfig({ STYLEKUBE_SERVER_CLIENT_LIMITS: "{" }),
      /STYLEKUBE_SERVER_CLIENT_LIMITS: not JSON/,
    );
  });
});
