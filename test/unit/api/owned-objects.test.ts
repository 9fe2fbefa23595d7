// The labels and names of what the operator creates are an interface: its
// informers select by them, users select by them, spec.template may not
// override them. These tests pin the keys and check that every selector
// matches the objects it is meant to find.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  jobCredentialsSecretName,
  labelSelector,
  LABELS,
  RESERVED_LABEL_PREFIX,
  RESERVED_LABELS,
  SERVER_DEPLOYMENT_SELECTOR,
  serverLabels,
  serverObjectName,
  serverSelector,
  trainingLabels,
  WORKER_SELECTOR,
  workerLabels,
  workerPodName,
} from "../../../common/api/owned-objects.js";
import { readDashboardConfig } from "../../../controller/dashboard/config.js";

/** Whether labels satisfy an equality-based selector string, as the apiserver decides it. */
function matches(selector: string, labels: Record<string, string>): boolean {
  return selector.split(",").every((term) => {
    const [key, value] = term.split("=");
    return labels[key!] === value;
  });
}

describe("owned objects", () => {
  it("uses the label keys users and existing objects rely on", () => {
    assert.deepEqual(workerLabels("mosaic", 2, 1), {
      "app.kubernetes.io/name": "stylekube",
      "app.kubernetes.io/component": "trainer",
      "app.kubernetes.io/managed-by": "stylekube",
      "stylekube.io/training": "mosaic",
      "stylekube.io/attempt": "2",
      "stylekube.io/rank": "1",
    });
    assert.equal(
      serverSelector("default"),
      [
        "app.kubernetes.io/name=stylekube",
        "app.kubernetes.io/component=server",
        "app.kubernetes.io/managed-by=stylekube",
        "stylekube.io/server=default",
      ].join(","),
    );
    assert.equal(trainingLabels("mosaic")[LABELS.training], "mosaic");
  });

  it("selects every worker and every server Deployment, and not the other kind", () => {
    assert.ok(matches(WORKER_SELECTOR, workerLabels("mosaic", 1, 0)));
    assert.ok(!matches(WORKER_SELECTOR, serverLabels("default")));
    assert.ok(matches(SERVER_DEPLOYMENT_SELECTOR, serverLabels("default")));
    assert.ok(!matches(SERVER_DEPLOYMENT_SELECTOR, workerLabels("mosaic", 1, 0)));
    assert.ok(matches(serverSelector("default"), serverLabels("default")));
    assert.ok(!matches(serverSelector("default"), serverLabels("other")));
    assert.equal(labelSelector({ a: "1", b: "2" }), "a=1,b=2");
  });

  it("reserves every label key it sets on workers, so spec.template cannot override one", () => {
    for (const key of Object.keys(workerLabels("mosaic", 1, 0)))
      assert.ok(key.startsWith(RESERVED_LABEL_PREFIX) || RESERVED_LABELS.includes(key), key);
  });

  it("names objects deterministically, within Kubernetes' name limits", () => {
    assert.equal(workerPodName("mosaic", 3, 1), "mosaic-a3-w1");
    const long = "x".repeat(253);
    assert.ok(workerPodName(long, 999, 63).length <= 63);
    assert.equal(serverObjectName("default"), "default-server");
    assert.equal(jobCredentialsSecretName("mosaic", "0123456789abcdef"), "mosaic-nats-01234567");
    assert.ok(jobCredentialsSecretName(long, "0123456789abcdef").length <= 63);
  });

  it("gives the dashboard's try-it URL the server's Service name", () => {
    const url = readDashboardConfig({}).STYLEKUBE_DASHBOARD_SERVING_URL;
    assert.equal(url, `http://${serverObjectName("{name}")}.{namespace}.svc`);
    assert.equal(url, "http://{name}-server.{namespace}.svc");
  });
});
