// A wait on a pod that never schedules, on the real apiserver and
// kube-scheduler: the timeout's message says what it waited for and why —
// the pod is Pending on no node, the scheduler's reason, its
// FailedScheduling event.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { adminKubeConfig, createNamespace, deleteNamespace, waitFor } from "../../support/kubernetes.js";
import { explainPods } from "../../support/pod-diagnosis.js";

describe("a timed-out wait on pods explains itself", () => {
  let kc: k8s.KubeConfig;
  let ns: string;

  before(async () => {
    kc = adminKubeConfig();
    ns = await createNamespace(kc, "pod-diagnosis");
    await kc.makeApiClient(k8s.CoreV1Api).createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: "stranded", labels: { app: "stranded" } },
        spec: {
          // No node has this label: the scheduler can place the pod nowhere.
          nodeSelector: { "stylekube.io/test-no-such-node": "true" },
          containers: [{ name: "main", image: "localhost/stylekube/none:0" }],
        },
      },
    });
  });

  after(async () => {
    await deleteNamespace(kc, ns);
  });

  it("names the wait, the pod's phase, the scheduler's reason and the event", async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const running = async () =>
      (await core.readNamespacedPod({ name: "stranded", namespace: ns })).status?.phase === "Running";
    await assert.rejects(
      waitFor("pod stranded Running", running, 8_000, explainPods(kc, ns, "app=stranded")),
      (err: Error) => {
        assert.match(err.message, /^timed out after 8000 ms waiting for pod stranded Running\nwhy:\n/);
        assert.match(
          err.message,
          /pod stranded: phase Pending; no node; PodScheduled=False \(Unschedulable: 0\/\d+ nodes are available/,
        );
        assert.match(
          err.message,
          /event Warning Pod\/stranded: FailedScheduling: 0\/\d+ nodes are available/,
        );
        return true;
      },
    );
  });
});
