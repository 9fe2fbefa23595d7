// Gang failures under races, against the real apiserver with the operator as
// its own process: every worker failure is counted exactly once while other
// writers keep changing the training's status, a worker pod that is deleted
// or evicted fails its attempt like a crash, and neither the status nor the
// events ever contradict what happened to the pods.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import {
  GROUP,
  VERSION,
  type StyleTrainingInput,
  type StyleTrainingStatus,
} from "../../../common/api/index.js";
import { readTestEnv } from "../../env/env-file.js";
import { minimalStyleTraining } from "../../fixtures/style-trainings.js";
import { waitFor } from "../../support/kubernetes.js";
import { explainPods } from "../../support/pod-diagnosis.js";
import { setUpOperator, type OperatorUnderTest } from "../../support/operator.js";
import { TrainingTimeline } from "../../support/training-timeline.js";
import { setWorkerPodPhase } from "../../support/worker-pods.js";

type Training = { metadata: k8s.V1ObjectMeta; status?: StyleTrainingStatus };

const RACE_RUNS = 3;
const BACKOFF_LIMIT = 1;
/** A bound on injected failures: a correct operator stops the training after BACKOFF_LIMIT + 1. */
const MAX_INJECTED = 6;

describe("gang failures under races", () => {
  let op: OperatorUnderTest;
  let core: k8s.CoreV1Api;
  let custom: k8s.CustomObjectsApi;
  let ns: string;

  before(async () => {
    op = await setUpOperator("gang", (namespace) => ({
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
  const mergePatch = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);
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
  const podsOf = async (name: string) =>
    (await core.listNamespacedPod({ namespace: ns, labelSelector: `stylekube.io/training=${name}` })).items;
  const isReady = (p: k8s.V1Pod) =>
    !p.metadata?.deletionTimestamp &&
    p.status?.phase === "Running" &&
    (p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false);
  const markFailed = (pod: k8s.V1Pod) => setWorkerPodPhase(core, pod, "Failed", 137);
  /** Event reasons of one training, each with the sum of its counts (repeats are folded into count). */
  const eventCounts = async (name: string) => {
    const counts = new Map<string, number>();
    const list = await core.listNamespacedEvent({
      namespace: ns,
      fieldSelector: `involvedObject.name=${name}`,
    });
    for (const e of list.items) counts.set(e.reason!, (counts.get(e.reason!) ?? 0) + (e.count ?? 1));
    return counts;
  };
  /** Another writer of the status every 50 ms, as a stream of progress updates would be. */
  const raceStatusWrites = (name: string) => {
    let step = 0;
    let stopped = false;
    const done = (async () => {
      while (!stopped) {
        step++;
        await custom
          .patchNamespacedCustomObjectStatus(
            {
              ...api,
              namespace: ns,
              name,
              body: {
                status: {
                  progress: { step, totalSteps: 40_000, percent: step / 400, imagesPerSecond: 4 },
                },
              },
            },
            mergePatch,
          )
          .catch(() => undefined);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    return async () => {
      stopped = true;
      await done;
    };
  };

  for (let run = 1; run <= RACE_RUNS; run++) {
    it(`run ${run}: counts every failure exactly once while status writes race, then fails at backoffLimit`, async () => {
      const name = `race-${run}`;
      const timeline = await TrainingTimeline.start(op.kc, ns, name);
      await create(name, { workers: 2, backoffLimit: BACKOFF_LIMIT });
      const stopRacing = raceStatusWrites(name);
      const failedUids = new Set<string>();
      try {
        await waitStatus(name, "Running", (s) => s.phase === "Running");
        // One worker pod marked Failed at a time: wait for a live, ready pod
        // not failed before (a new attempt's), fail it, wait until the
        // operator has taken it away, repeat until the training is Failed.
        while (failedUids.size < MAX_INJECTED) {
          let victim: k8s.V1Pod | undefined;
          let finished = false;
          await waitFor(`${name}: a live worker to fail, or the training Failed`, async () => {
            const status = (await get(name)).status;
            if (status?.phase === "Failed") return (finished = true);
            if (status?.phase !== "Running") return false;
            // A worker of the attempt the status calls current: a pod of an
            // attempt already ended is not one more failure.
            victim = (await podsOf(name)).find(
              (p) =>
                isReady(p) &&
                !failedUids.has(p.metadata!.uid!) &&
                p.metadata!.labels!["stylekube.io/attempt"] === String(status.attempt),
            );
            return victim !== undefined;
          });
          if (finished) break;
          await markFailed(victim!);
          failedUids.add(victim!.metadata!.uid!);
          await waitFor(`${name}: ${victim!.metadata!.name} taken away`, async () => {
            const still = (await podsOf(name)).find((p) => p.metadata!.uid === victim!.metadata!.uid);
            return (
              !still ||
              still.metadata?.deletionTimestamp !== undefined ||
              (await get(name)).status?.phase === "Failed"
            );
          });
        }
      } finally {
        await stopRacing();
      }
      const s = await waitStatus(name, "Failed", (st) => st.phase === "Failed");
      timeline.stop();
      const failed = s.conditions?.find((c) => c.type === "Failed");
      assert.equal(failed?.status, "True");
      assert.equal(failed?.reason, "BackoffLimitExceeded", JSON.stringify(s.conditions));
      assert.equal(failedUids.size, BACKOFF_LIMIT + 1, "failures injected before the training failed");
      assert.equal(s.restarts, BACKOFF_LIMIT + 1, "status.restarts counts every failure");
      assert.equal(s.attempt, BACKOFF_LIMIT + 1, "the last attempt is the one that failed");
      await waitFor(`${name}: no live pods`, async () =>
        (await podsOf(name)).every((p) => p.metadata?.deletionTimestamp || p.status?.phase === "Failed"),
      );

      const events = await eventCounts(name);
      assert.equal(events.get("Created"), 1, `one Created event: ${JSON.stringify([...events])}`);
      assert.equal(
        events.get("WorkerFailed"),
        BACKOFF_LIMIT,
        `WorkerFailed per restart: ${JSON.stringify([...events])}`,
      );
      assert.equal(
        events.get("BackoffLimitExceeded"),
        1,
        `one BackoffLimitExceeded: ${JSON.stringify([...events])}`,
      );
      assert.ok(
        (events.get("Running") ?? 0) <= BACKOFF_LIMIT + 1,
        `at most one Running event per attempt: ${JSON.stringify([...events])}`,
      );
      assert.ok(timeline.length > 0, "the timeline recorded the run");
      assert.deepEqual(timeline.violations(), [], "status contradicted the pods");
    });
  }

  it("a force-deleted worker fails its attempt: counted, one event, the whole gang replaced", async () => {
    const name = "vanish";
    const timeline = await TrainingTimeline.start(op.kc, ns, name);
    await create(name, { workers: 2, backoffLimit: 3 });
    await waitStatus(name, "Running", (s) => s.phase === "Running");
    const victim = (await podsOf(name)).find((p) => p.metadata!.name === `${name}-a1-w1`)!;
    await core.deleteNamespacedPod({ name: victim.metadata!.name!, namespace: ns, gracePeriodSeconds: 0 });
    const s = await waitStatus(name, "attempt 2 Running", (st) => st.attempt === 2 && st.phase === "Running");
    assert.equal(s.restarts, 1, "the vanished worker is counted as a failure");
    await waitFor(
      "only attempt 2 pods",
      async () => {
        const names = (await podsOf(name)).map((p) => p.metadata!.name).sort();
        return JSON.stringify(names) === JSON.stringify([`${name}-a2-w0`, `${name}-a2-w1`]);
      },
      60_000,
      explainPods(op.kc, ns, `stylekube.io/training=${name}`),
    );
    const list = await core.listNamespacedEvent({
      namespace: ns,
      fieldSelector: `involvedObject.name=${name}`,
    });
    const workerFailed = list.items.filter((e) => e.reason === "WorkerFailed");
    assert.equal(
      workerFailed.reduce((n, e) => n + (e.count ?? 1), 0),
      1,
    );
    assert.match(workerFailed[0]!.message!, new RegExp(`worker 1 \\(${name}-a1-w1\\) was deleted`));
    timeline.stop();
    assert.deepEqual(
      timeline.violations(new Set([victim.metadata!.name!])),
      [],
      "status contradicted the pods",
    );
  });

  it("an evicted worker fails its attempt like a crash", async () => {
    const name = "evicted";
    await create(name, { workers: 2, backoffLimit: 3 });
    await waitStatus(name, "Running", (s) => s.phase === "Running");
    await core.createNamespacedPodEviction({
      name: `${name}-a1-w0`,
      namespace: ns,
      body: { metadata: { name: `${name}-a1-w0`, namespace: ns } },
    });
    const s = await waitStatus(name, "attempt 2 Running", (st) => st.attempt === 2 && st.phase === "Running");
    assert.equal(s.restarts, 1);
    const list = await core.listNamespacedEvent({
      namespace: ns,
      fieldSelector: `involvedObject.name=${name}`,
    });
    const workerFailed = list.items.find((e) => e.reason === "WorkerFailed");
    assert.match(workerFailed?.message ?? "", /worker 0 \(evicted-a1-w0\) was deleted/);
  });
  it("merges spec.template into every worker pod the apiserver accepts and schedules", async () => {
    const scheduling = op.kc.makeApiClient(k8s.SchedulingV1Api);
    const priorityClass = `stylekube-test-${ns}`;
    await scheduling.createPriorityClass({ body: { metadata: { name: priorityClass }, value: 1000 } });
    try {
      const name = "templated";
      await create(name, {
        workers: 2,
        template: {
          metadata: { labels: { team: "vision" }, annotations: { "example.com/owner": "ada" } },
          spec: {
            nodeSelector: { type: "kwok" },
            tolerations: [{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }],
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [
                    { matchExpressions: [{ key: "kubernetes.io/os", operator: "In", values: ["linux"] }] },
                  ],
                },
              },
            },
            priorityClassName: priorityClass,
            env: [{ name: "HTTPS_PROXY", value: "http://proxy.example:3128" }],
            volumes: [{ name: "scratch", emptyDir: { sizeLimit: "1Gi" } }],
            volumeMounts: [{ name: "scratch", mountPath: "/scratch" }],
          },
        },
      });
      await waitStatus(name, "Running", (s) => s.phase === "Running");
      const pods = await podsOf(name);
      assert.equal(pods.length, 2);
      for (const p of pods) {
        assert.equal(p.metadata!.labels!.team, "vision");
        assert.equal(p.metadata!.labels!["stylekube.io/training"], name);
        assert.equal(p.metadata!.annotations!["example.com/owner"], "ada");
        assert.deepEqual(p.spec!.nodeSelector, { type: "kwok" });
        assert.ok(p.spec!.tolerations!.some((t) => t.key === "dedicated" && t.value === "gpu"));
        assert.ok(p.spec!.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution);
        assert.equal(p.spec!.priorityClassName, priorityClass);
        assert.equal(p.spec!.priority, 1000, "the apiserver resolved the PriorityClass");
        const container = p.spec!.containers[0]!;
        assert.ok(
          container.env!.some((e) => e.name === "HTTPS_PROXY" && e.value === "http://proxy.example:3128"),
        );
        assert.ok(container.volumeMounts!.some((m) => m.name === "scratch" && m.mountPath === "/scratch"));
        assert.equal(p.spec!.volumes!.find((v) => v.name === "scratch")?.emptyDir?.sizeLimit, "1Gi");
      }
      // The apiserver rejects what the operator would have to refuse, naming the field.
      await assert.rejects(
        create("templated-bad", { template: { spec: { env: [{ name: "STYLEKUBE_RANK", value: "9" }] } } }),
        (err: unknown) =>
          err instanceof k8s.ApiException &&
          err.code === 422 &&
          /spec\.template\.spec\.env/.test(String(err.body)) &&
          /set by the operator/.test(String(err.body)),
      );
    } finally {
      await scheduling.deletePriorityClass({ name: priorityClass }).catch(() => undefined);
    }
  });
});
