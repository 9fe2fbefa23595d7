// Permanent errors fail fast on the cluster, against the real apiserver with
// the operator as its own process: a worker pod that ends with the permanent
// exit code (66) and a termination message fails its StyleTraining at once —
// Failed/PermanentError naming the field and URI, no restart counted, no
// second attempt, though backoffLimit would allow three — while a worker that
// exits 1 is retried as before.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import {
  GROUP,
  VERSION,
  type StyleTrainingInput,
  type StyleTrainingStatus,
} from "../../../common/api/index.js";
import { PERMANENT_FAILURE_EXIT_CODE } from "../../../common/worker-exit.js";
import { readTestEnv } from "../../env/env-file.js";
import { minimalStyleTraining } from "../../fixtures/style-trainings.js";
import { waitFor } from "../../support/kubernetes.js";
import { setUpOperator, type OperatorUnderTest } from "../../support/operator.js";
import { setWorkerPodPhase } from "../../support/worker-pods.js";

type Training = { metadata: k8s.V1ObjectMeta; status?: StyleTrainingStatus };

/** What a worker whose style image is missing writes (trainer/input-check.ts). */
const MISSING_STYLE =
  "spec.style s3://art/no-such-style.jpg: cannot read the style image (s3://art/no-such-style.jpg not found); upload the image there or point spec.style at it";

describe("permanent worker failures", () => {
  let op: OperatorUnderTest;
  let core: k8s.CoreV1Api;
  let custom: k8s.CustomObjectsApi;
  let ns: string;

  before(async () => {
    op = await setUpOperator("permanent", (namespace) => ({
      STYLEKUBE_NATS_URL: readTestEnv().natsUrl,
      STYLEKUBE_WATCH_NAMESPACE: namespace,
      STYLEKUBE_LEADER_ELECT: "false",
    }));
    ns = op.namespace;
    core = op.kc.makeApiClient(k8s.CoreV1Api);
    custom = op.kc.makeApiClient(k8s.CustomObjectsApi);
  });

  after(async () => {
    await op?.cleanup();
  });

  const api = { group: GROUP, version: VERSION, plural: "styletrainings" };
  const create = async (name: string, spec: Partial<StyleTrainingInput["spec"]>) => {
    const body = minimalStyleTraining(name);
    body.spec = { ...body.spec, resources: { gpu: 0, cpu: "1", memory: "1Gi" }, ...spec };
    await custom.createNamespacedCustomObject({ ...api, namespace: ns, body });
  };
  const get = async (name: string) =>
    (await custom.getNamespacedCustomObject({ ...api, namespace: ns, name })) as Training;
  const waitStatus = async (name: string, what: string, check: (s: StyleTrainingStatus) => boolean) => {
    let last: StyleTrainingStatus | undefined;
    try {
      await waitFor(`${name}: ${what}`, async () => check((last = (await get(name)).status ?? {})), 90_000);
    } catch (err) {
      throw new Error(
        `${String(err)}\nlast status: ${JSON.stringify(last)}\ncontroller log tail:\n${op.controller.logs().slice(-3000)}`,
        { cause: err },
      );
    }
    return last!;
  };
  const pod = async (name: string) => core.readNamespacedPod({ name, namespace: ns });
  const podsOf = async (name: string) =>
    (await core.listNamespacedPod({ namespace: ns, labelSelector: `stylekube.io/training=${name}` })).items;
  const eventCounts = async (name: string) => {
    const counts = new Map<string, number>();
    const list = await core.listNamespacedEvent({
      namespace: ns,
      fieldSelector: `involvedObject.name=${name}`,
    });
    for (const e of list.items) counts.set(e.reason!, (counts.get(e.reason!) ?? 0) + (e.count ?? 1));
    return counts;
  };

  it("a worker that exits 66 fails the training at once with its message; backoffLimit is not used", async () => {
    const name = "missing-style";
    await create(name, { workers: 2, backoffLimit: 3 });
    await waitStatus(name, "Running", (s) => s.phase === "Running");
    const created = await pod(`${name}-a1-w0`);
    assert.equal(created.spec!.containers[0]!.terminationMessagePolicy, "FallbackToLogsOnError");
    await setWorkerPodPhase(core, created, "Failed", PERMANENT_FAILURE_EXIT_CODE, MISSING_STYLE);

    const s = await waitStatus(name, "Failed", (st) => st.phase === "Failed");
    const failed = s.conditions?.find((c) => c.type === "Failed");
    assert.equal(failed?.status, "True");
    assert.equal(failed?.reason, "PermanentError", JSON.stringify(s.conditions));
    assert.ok(
      failed!.message.includes(MISSING_STYLE),
      `the condition names field and URI: ${failed!.message}`,
    );
    assert.match(failed!.message, new RegExp(`worker 0 \\(${name}-a1-w0\\) failed with a permanent error`));
    assert.equal(s.restarts, undefined, "no restart counted");
    assert.equal(s.attempt, 1, "no second attempt");
    assert.ok(s.completionTime);
    await waitFor(`${name}: no live pods`, async () =>
      (await podsOf(name)).every((p) => p.metadata?.deletionTimestamp || p.status?.phase === "Failed"),
    );
    assert.ok(!(await podsOf(name)).some((p) => p.metadata!.name!.includes("-a2-")), "no attempt 2 pods");
    const events = await eventCounts(name);
    assert.equal(events.get("PermanentError"), 1, JSON.stringify([...events]));
    assert.equal(events.get("WorkerFailed"), undefined, JSON.stringify([...events]));
  });

  it("a worker that exits 1 is transient: the gang restarts as attempt 2 and the failure is counted", async () => {
    const name = "flaky";
    await create(name, { workers: 2, backoffLimit: 3 });
    await waitStatus(name, "Running", (s) => s.phase === "Running");
    await setWorkerPodPhase(
      core,
      await pod(`${name}-a1-w1`),
      "Failed",
      1,
      "allreduce step 7: rank 0 missing",
    );
    const s = await waitStatus(name, "attempt 2 Running", (st) => st.attempt === 2 && st.phase === "Running");
    assert.equal(s.restarts, 1);
    assert.equal(s.conditions?.find((c) => c.type === "Failed")?.status ?? "False", "False");
    const events = await eventCounts(name);
    assert.equal(events.get("WorkerFailed"), 1, JSON.stringify([...events]));
    assert.equal(events.get("PermanentError"), undefined);
  });
});
