// The demo leaves nothing behind on exit: deleting its namespace on the real
// apiserver (with kube-controller-manager's namespace controller) removes the
// StyleServer inside, so no later operator can take it over.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { GROUP, VERSION } from "../../../common/api/index.js";
import { deleteDemoNamespace } from "../../../demo/cleanup.js";
import { adminKubeConfig, applyCrds, createNamespace } from "../../support/kubernetes.js";

describe("demo cleanup", () => {
  let kc: k8s.KubeConfig;
  let namespace: string;
  const ref = () => ({ group: GROUP, version: VERSION, namespace, plural: "styleservers" });

  before(async () => {
    kc = adminKubeConfig();
    await applyCrds(kc);
    namespace = await createNamespace(kc, "demo-cleanup");
    await kc.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({
      ...ref(),
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: "StyleServer",
        metadata: { name: "demo", namespace },
        spec: { replicas: 1, styles: { "starry-night": { modelURI: "s3://bucket/model/" } } },
      },
    });
  });

  it("deletes the namespace and the StyleServer in it, and says so", async () => {
    const deletion = await deleteDemoNamespace(kc, namespace, 120_000);
    assert.equal(deletion.outcome, "gone", `namespace ${namespace} gone (${deletion.seconds.toFixed(1)} s)`);
    const objects = kc.makeApiClient(k8s.CustomObjectsApi);
    await assert.rejects(
      objects.getNamespacedCustomObject({ ...ref(), name: "demo" }),
      (err: unknown) => err instanceof k8s.ApiException && err.code === 404,
    );
  });

  it("a namespace that is not there is reported absent, not an error", async () => {
    assert.equal((await deleteDemoNamespace(kc, namespace, 1_000)).outcome, "absent");
  });
});
