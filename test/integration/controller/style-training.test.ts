// The operator against the real apiserver (with controller-manager for garbage
// collection and kwok for pods that reach Running), running as a separate
// process with the operator ServiceAccount's token, so RBAC is enforced by
// Kubernetes itself. Progress arrives over the real NATS server.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { connect, type NatsConnection } from "nats";
import {
  GROUP,
  VERSION,
  type StyleTrainingInput,
  type StyleTrainingStatus,
} from "../../../common/api/index.js";
import type { ProgressMessage } from "../../../common/progress.js";
import { subjects } from "../../../common/worker-env.js";
import { readTestEnv } from "../../env/env-file.js";
import { minimalStyleTraining } from "../../fixtures/style-trainings.js";
import type { ControllerProcess } from "../../support/controller-process.js";
import { waitFor } from "../../support/kubernetes.js";
import { explainPods } from "../../support/pod-diagnosis.js";
import { setUpOperator, type OperatorUnderTest } from "../../support/operator.js";
import { setWorkerPodPhase } from "../../support/worker-pods.js";

type Training = { metadata: k8s.V1ObjectMeta; spec: Record<string, unknown>; status?: StyleTrainingStatus };

describe("StyleTraining controller", () => {
  let op: OperatorUnderTest;
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let custom: k8s.CustomObjectsApi;
  let ns: string;
  let nc: NatsConnection;
  let controller: ControllerProcess;
  let saKubeconfig: string;
  const controllerEnv = (namespace = ns) => ({
    STYLEKUBE_NATS_URL: readTestEnv().natsUrl,
    STYLEKUBE_WATCH_NAMESPACE: namespace,
    POD_NAMESPACE: "stylekube-system",
    STYLEKUBE_LEASE_NAME: `stylekube-test-${namespace}`,
    STYLEKUBE_STATUS_INTERVAL_MS: "200",
    STYLEKUBE_LEASE_DURATION_SECONDS: "3",
    STYLEKUBE_RENEW_DEADLINE_MS: "2000",
    STYLEKUBE_RETRY_PERIOD_MS: "300",
  });
  /** Replaces the operator process under test (restart and failover tests); cleanup stops the current one. */
  const useController = (next: ControllerProcess): void => {
    controller = next;
    op.controller = next;
  };

  before(async () => {
    op = await setUpOperator("operator", controllerEnv);
    ({ kc, namespace: ns, saKubeconfig, controller } = op);
    core = kc.makeApiClient(k8s.CoreV1Api);
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    nc = await connect({ servers: readTestEnv().natsUrl });
  });

  after(async () => {
    await nc?.close();
    await op?.cleanup();
  });

  const api = { group: GROUP, version: VERSION, plural: "styletrainings" };
  const create = async (name: string, spec: Partial<StyleTrainingInput["spec"]> = {}) => {
    const body = minimalStyleTraining(name);
    body.spec = { ...body.spec, resources: { gpu: 0, cpu: "1", memory: "1Gi" }, ...spec };
    return (await custom.createNamespacedCustomObject({ ...api, namespace: ns, body })) as Training;
  };
  const get = async (name: string) =>
    (await custom.getNamespacedCustomObject({ ...api, namespace: ns, name })) as Training;
  const waitStatus = async (
    name: string,
    what: string,
    check: (s: StyleTrainingStatus) => boolean,
    ms = 30_000,
  ) => {
    let last: StyleTrainingStatus | undefined;
    try {
      await waitFor(`${name}: ${what}`, async () => check((last = (await get(name)).status ?? {})), ms);
    } catch (err) {
      throw new Error(
        `${String(err)}\nlast status: ${JSON.stringify(last)}\ncontroller log tail:\n${controller.logs().slice(-3000)}`,
        { cause: err },
      );
    }
    return last!;
  };
  const podsOf = async (name: string) =>
    (
      await core.listNamespacedPod({ namespace: ns, labelSelector: `stylekube.io/training=${name}` })
    ).items.filter((p) => !p.metadata?.deletionTimestamp);
  const setPodPhase = (pod: k8s.V1Pod, phase: "Failed" | "Succeeded", exitCode: number) =>
    setWorkerPodPhase(core, pod, phase, exitCode);
  const eventsOf = async (name: string) =>
    (
      await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` })
    ).items.map((e) => e.reason);

  it("serves health, readiness and metrics", async () => {
    assert.equal((await fetch(`${controller.url}/healthz`)).status, 200);
    await waitFor("readyz", async () => (await fetch(`${controller.url}/readyz`)).status === 200);
    const metrics = await (await fetch(`${controller.url}/metrics`)).text();
    assert.match(metrics, /stylekube_workqueue_depth/);
    assert.match(metrics, /stylekube_leader 1/);
  });

  it("creates the workers of attempt 1 and reports Running only when all are ready", async () => {
    await create("lifecycle", { workers: 2 });
    await waitFor(
      "2 worker pods",
      async () => (await podsOf("lifecycle")).length === 2,
      60_000,
      explainPods(kc, ns, "stylekube.io/training=lifecycle"),
    );
    const pods = await podsOf("lifecycle");
    const names = pods.map((p) => p.metadata!.name).sort();
    assert.deepEqual(names, ["lifecycle-a1-w0", "lifecycle-a1-w1"]);
    for (const p of pods) {
      assert.equal(p.metadata!.labels!["stylekube.io/attempt"], "1");
      assert.equal(p.metadata!.ownerReferences![0]!.kind, "StyleTraining");
      const env = Object.fromEntries(p.spec!.containers[0]!.env!.map((e) => [e.name, e.value]));
      assert.equal(env.STYLEKUBE_WORLD_SIZE, "2");
      assert.equal(env.STYLEKUBE_NATS_URL, readTestEnv().natsUrl);
    }
    const status = await waitStatus("lifecycle", "Running", (s) => s.phase === "Running");
    assert.deepEqual(status.workers, { ready: 2, total: 2 });
    assert.equal(status.attempt, 1);
    assert.ok(status.startTime);
    assert.ok(status.conditions?.some((c) => c.type === "Running" && c.status === "True"));
    // Events follow the status write that records the transition.
    await waitFor("Created and Running events", async () => {
      const reasons = await eventsOf("lifecycle");
      return reasons.includes("Created") && reasons.includes("Running");
    });
  });

  it("folds progress from NATS into status", async () => {
    const t = await get("lifecycle");
    const progress = (rank: number, extra: Partial<ProgressMessage> = {}): ProgressMessage => ({
      jobId: t.metadata.uid!,
      attempt: 1,
      rank,
      step: 123,
      totalSteps: 40_000,
      imagesPerSecond: 4,
      loss: { total: 12.5, content: 3, style: 1.5, tv: 0.25 },
      time: new Date().toISOString(),
      ...extra,
    });
    nc.publish(
      subjects.progress(ns, "lifecycle"),
      JSON.stringify(
        progress(0, { checkpoint: { uri: "s3://models/mosaic/checkpoints/000100/", step: 100 } }),
      ),
    );
    nc.publish(subjects.progress(ns, "lifecycle"), JSON.stringify(progress(1)));
    await nc.flush();
    const s = await waitStatus("lifecycle", "progress at step 123", (s) => s.progress?.step === 123);
    assert.equal(s.progress?.imagesPerSecond, 8);
    assert.equal(s.progress?.loss?.total, 12.5);
    assert.equal(s.progress?.percent, 0.3);
    assert.equal(s.lastCheckpoint?.step, 100);
  });

  it("restarts the whole gang when one worker fails, as a new attempt", async () => {
    const pods = await podsOf("lifecycle");
    await setPodPhase(
      pods.find((p) => p.metadata!.name!.endsWith("w1"))!,
      "Failed",
      137,
    );
    const s = await waitStatus("lifecycle", "attempt 2", (s) => s.attempt === 2 && s.restarts === 1);
    // The Restarting condition may already have moved on (kwok readies the new
    // pods at once), so check the transition's event, which names the worker.
    assert.equal(s.restarts, 1);
    assert.ok(
      s.conditions?.some((c) => c.type === "Restarting" && c.lastTransitionTime >= (s.startTime ?? "")),
      "a Restarting condition is recorded",
    );
    // Events follow the status write that records the decision, so the event
    // may still be on its way when the status shows attempt 2.
    let failed: k8s.CoreV1Event | undefined;
    await waitFor("the WorkerFailed event", async () => {
      failed = (
        await core.listNamespacedEvent({ namespace: ns, fieldSelector: "involvedObject.name=lifecycle" })
      ).items.find((e) => e.reason === "WorkerFailed");
      return failed !== undefined;
    });
    assert.match(failed?.message ?? "", /worker 1 \(lifecycle-a1-w1\) failed: .*exit code 137/);
    await waitFor("attempt 2 pods only", async () => {
      const names = (await podsOf("lifecycle")).map((p) => p.metadata!.name).sort();
      return JSON.stringify(names) === JSON.stringify(["lifecycle-a2-w0", "lifecycle-a2-w1"]);
    });
    assert.ok((await eventsOf("lifecycle")).includes("WorkerFailed"));
    await waitStatus("lifecycle", "Running again", (s) => s.phase === "Running" && s.attempt === 2);
  });

  it("succeeds when every worker finished, then expires after ttlSecondsAfterFinished", async () => {
    await custom.patchNamespacedCustomObject(
      { ...api, namespace: ns, name: "lifecycle", body: { spec: { ttlSecondsAfterFinished: 2 } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    for (const p of await podsOf("lifecycle")) await setPodPhase(p, "Succeeded", 0);
    const s = await waitStatus("lifecycle", "Succeeded", (s) => s.phase === "Succeeded");
    assert.equal(s.modelURI, "s3://models/mosaic/model/");
    assert.ok(s.completionTime);
    assert.equal(s.progress?.percent, 100);
    await waitFor(
      "deleted after TTL",
      async () => {
        try {
          await get("lifecycle");
          return false;
        } catch (err) {
          return err instanceof k8s.ApiException && err.code === 404;
        }
      },
      20_000,
    );
  });

  it("fails after backoffLimit worker failures and creates no more pods", async () => {
    await create("fragile", { workers: 1, backoffLimit: 0 });
    await waitStatus("fragile", "Running", (s) => s.phase === "Running");
    await setPodPhase((await podsOf("fragile"))[0]!, "Failed", 1);
    const s = await waitStatus("fragile", "Failed", (s) => s.phase === "Failed");
    assert.ok(
      s.conditions?.some(
        (c) => c.type === "Failed" && c.status === "True" && c.reason === "BackoffLimitExceeded",
      ),
    );
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await podsOf("fragile")).filter((p) => p.status?.phase !== "Failed").length, 0);
  });

  it("suspend removes the pods and keeps progress; resume starts a new attempt", async () => {
    await create("pausable", { workers: 2 });
    await waitStatus("pausable", "Running", (s) => s.phase === "Running");
    const patch = (suspend: boolean) =>
      custom.patchNamespacedCustomObject(
        { ...api, namespace: ns, name: "pausable", body: { spec: { suspend } } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
    await patch(true);
    await waitStatus("pausable", "Suspended", (s) => s.phase === "Suspended");
    await waitFor("no pods while suspended", async () => (await podsOf("pausable")).length === 0);
    await patch(false);
    const s = await waitStatus(
      "pausable",
      "Running as attempt 2",
      (s) => s.phase === "Running" && s.attempt === 2,
    );
    assert.equal(s.restarts ?? 0, 0, "a suspension is not a failure");
  });

  it("fails a training that outlives activeDeadlineSeconds", async () => {
    await create("deadline", { workers: 1, activeDeadlineSeconds: 2 });
    const s = await waitStatus("deadline", "Failed", (s) => s.phase === "Failed", 20_000);
    assert.ok(s.conditions?.some((c) => c.reason === "DeadlineExceeded"));
    await waitFor("pods removed", async () => (await podsOf("deadline")).length === 0);
  });

  it("deleting a StyleTraining removes its pods", async () => {
    await create("doomed", { workers: 2 });
    await waitFor("pods", async () => (await podsOf("doomed")).length === 2);
    await custom.deleteNamespacedCustomObject({
      ...api,
      namespace: ns,
      name: "doomed",
      propagationPolicy: "Foreground",
    });
    await waitFor("pods garbage-collected", async () => (await podsOf("doomed")).length === 0, 30_000);
  });

  it("runs with least privilege: its ServiceAccount cannot read Secrets", async () => {
    const sa = new k8s.KubeConfig();
    sa.loadFromFile(saKubeconfig);
    const saCore = sa.makeApiClient(k8s.CoreV1Api);
    await assert.rejects(saCore.listNamespacedSecret({ namespace: ns }), (err: unknown) => {
      return err instanceof k8s.ApiException && err.code === 403;
    });
  });

  it("a controller killed mid-job and restarted creates no duplicate pods and status continues", async () => {
    await create("survivor", { workers: 2 });
    await waitStatus("survivor", "Running", (st) => st.phase === "Running");
    const before = (await podsOf("survivor")).map((p) => `${p.metadata!.name}/${p.metadata!.uid}`).sort();
    controller.child.kill("SIGKILL"); // no clean shutdown: the lease is not released
    await controller.stop();
    useController(await op.startAnother(controllerEnv()));
    // The new process must wait for the old lease to expire (3 s here), then
    // resync; progress keeps arriving until the new leader has subscribed.
    const t = await get("survivor");
    const progress: ProgressMessage = {
      jobId: t.metadata.uid!,
      attempt: 1,
      rank: 0,
      step: 77,
      totalSteps: 40_000,
      imagesPerSecond: 4,
      loss: { total: 3, content: 1, style: 1, tv: 1 },
      time: new Date().toISOString(),
    };
    const timer = setInterval(
      () => nc.publish(subjects.progress(ns, "survivor"), JSON.stringify(progress)),
      500,
    );
    try {
      const st = await waitStatus(
        "survivor",
        "progress under the new controller",
        (x) => x.progress?.step === 77,
        30_000,
      );
      assert.equal(st.phase, "Running");
      assert.equal(st.attempt, 1);
    } finally {
      clearInterval(timer);
    }
    const after = (await podsOf("survivor")).map((p) => `${p.metadata!.name}/${p.metadata!.uid}`).sort();
    assert.deepEqual(after, before, "the restarted controller replaced or duplicated pods");
  });

  it("a second replica stands by and takes over when the leader stops", async () => {
    const standby = await op.startAnother(controllerEnv());
    try {
      await new Promise((r) => setTimeout(r, 1500));
      assert.match(await (await fetch(`${standby.url}/metrics`)).text(), /stylekube_leader 0/);
      assert.equal(await controller.stop("SIGTERM"), 0);
      await waitFor(
        "standby leads",
        async () => /stylekube_leader 1/.test(await (await fetch(`${standby.url}/metrics`)).text()),
        15_000,
      );
      await create("after-failover", { workers: 1 });
      await waitStatus("after-failover", "Running under the new leader", (s) => s.phase === "Running");
    } finally {
      useController(standby);
    }
  });
});
