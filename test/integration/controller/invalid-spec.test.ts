// The operator's own validation: an object that slipped past the CRD schema
// (stored under an older, looser CRD) is marked Failed/InvalidSpec with the
// zod message and an event, and nothing is created for it. To get such an
// object into a real apiserver this file briefly installs a permissive CRD,
// then restores the generated one.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { GROUP, VERSION, type StyleTrainingStatus } from "../../../common/api/index.js";
import { readTestEnv } from "../../env/env-file.js";
import { minimalStyleTraining } from "../../fixtures/style-trainings.js";
import { applyCrds, waitFor } from "../../support/kubernetes.js";
import { setUpOperator, type OperatorUnderTest } from "../../support/operator.js";

describe("StyleTraining with a spec only zod rejects", () => {
  let kc: k8s.KubeConfig;
  let ns: string;
  let operator: OperatorUnderTest;

  before(async () => {
    operator = await setUpOperator("invalid", (namespace) => ({
      STYLEKUBE_NATS_URL: readTestEnv().natsUrl,
      STYLEKUBE_WATCH_NAMESPACE: namespace,
      STYLEKUBE_LEADER_ELECT: "false",
    }));
    ({ kc, namespace: ns } = operator);
  });

  after(async () => {
    await operator?.cleanup();
    await applyCrds(kc); // back to the generated, strict CRDs
  });

  it("is marked Failed/InvalidSpec with the zod message, gets an event, and gets no pods", async () => {
    const api = kc.makeApiClient(k8s.ApiextensionsV1Api);
    const name = "styletrainings.stylekube.io";
    const crd = await api.readCustomResourceDefinition({ name });
    const version = crd.spec.versions[0]!;
    version.schema = {
      openAPIV3Schema: {
        type: "object",
        properties: { spec: { type: "object", x_kubernetes_preserve_unknown_fields: true } },
        x_kubernetes_preserve_unknown_fields: true,
      },
    };
    await api.replaceCustomResourceDefinition({ name, body: crd });
    const body = minimalStyleTraining("legacy") as unknown as { spec: Record<string, unknown> };
    body.spec.workers = 0;
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await waitFor("permissive CRD in effect", async () => {
      try {
        await custom.createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: "styletrainings",
          body,
        });
        return true;
      } catch {
        return false;
      }
    });
    await applyCrds(kc); // the object stays stored as it is

    let status: StyleTrainingStatus | undefined;
    await waitFor("InvalidSpec", async () => {
      const t = (await custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: "styletrainings",
        name: "legacy",
      })) as { status?: StyleTrainingStatus };
      status = t.status;
      return status?.phase === "Failed";
    });
    const failed = status?.conditions?.find((c) => c.type === "Failed");
    assert.equal(failed?.reason, "InvalidSpec");
    assert.equal(failed?.message, "spec.workers: should be greater than or equal to 1");
    const core = kc.makeApiClient(k8s.CoreV1Api);
    // The event follows the status write that records the failure.
    await waitFor("the InvalidSpec event", async () => {
      const events = await core.listNamespacedEvent({
        namespace: ns,
        fieldSelector: "involvedObject.name=legacy",
      });
      return events.items.some((e) => e.reason === "InvalidSpec" && e.message?.includes("spec.workers"));
    });
    const pods = await core.listNamespacedPod({ namespace: ns });
    assert.equal(pods.items.length, 0);
  });
});
