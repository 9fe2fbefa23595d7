// The StyleTraining policies as tables: spec, status, pods and clock in;
// status change, events and actions out. No server: the policies are pure.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  validateStyleTraining,
  type StyleTrainingInput,
  type StyleTrainingStatus,
} from "../../../common/api/index.js";
import { decideTraining } from "../../../controller/training/policies/decide.js";
import type { Decision, TrainingAction } from "../../../controller/training/policies/decision.js";
import type { WorkerPod, WorkerPodState } from "../../../controller/training/worker-pod.js";
import { minimalStyleTraining } from "../../fixtures/style-trainings.js";

const T0 = new Date("2026-03-01T12:00:00Z");
const MISSING_STYLE =
  "spec.style s3://art/missing.jpg: cannot read the style image (s3://art/missing.jpg not found); upload the image there or point spec.style at it";
const later = (s: number) => new Date(T0.getTime() + s * 1000);

function pod(
  attempt: number,
  rank: number,
  state: WorkerPodState,
  extra: Partial<WorkerPod> = {},
): WorkerPod {
  return {
    name: `t-a${attempt}-w${rank}`,
    attempt,
    rank,
    worldSize: 2,
    state,
    deleting: false,
    tracked: true,
    why: state === "failed" ? "Error, exit code 137" : "",
    ...extra,
  };
}

interface Case {
  name: string;
  spec?: Partial<StyleTrainingInput["spec"]>;
  status?: StyleTrainingStatus;
  pods?: WorkerPod[];
  now?: Date;
  expect: (d: Decision) => void;
}

function decide(c: Omit<Case, "name" | "expect">): Decision {
  const obj = minimalStyleTraining("t");
  obj.metadata = { name: "t", namespace: "ns", uid: "u1", generation: 1 };
  obj.spec = { ...obj.spec, workers: 2, backoffLimit: 1, ...c.spec };
  return decideTraining(
    { status: c.status ?? {}, generation: 1, pods: c.pods ?? [], now: c.now ?? T0 },
    validateStyleTraining(obj),
  );
}

const running: StyleTrainingStatus = {
  phase: "Running",
  attempt: 1,
  startTime: T0.toISOString(),
  workers: { ready: 2, total: 2 },
};

const kinds = (d: Decision) => d.actions.map((a) => a.kind);
const action = <K extends TrainingAction["kind"]>(d: Decision, kind: K) =>
  d.actions.find((a): a is Extract<TrainingAction, { kind: K }> => a.kind === kind);
const reasons = (d: Decision) => d.events.map((e) => e.reason);
const condition = (d: Decision, type: string) => d.status.conditions?.find((c) => c.type === type);

const CASES: Case[] = [
  // worker creation
  {
    name: "a new training starts attempt 1: Created once, all ranks asked for, Pending with 0 ready",
    expect: (d) => {
      assert.equal(d.status.attempt, 1);
      assert.equal(d.status.phase, "Pending");
      assert.deepEqual(d.status.workers, { ready: 0, total: 2 });
      assert.deepEqual(reasons(d), ["Created"]);
      assert.deepEqual(action(d, "createWorkers"), { kind: "createWorkers", attempt: 1, ranks: [0, 1] });
      assert.equal(condition(d, "Created")?.status, "True");
    },
  },
  {
    name: "Running only once every rank is ready, announced on the transition only",
    status: { ...running, phase: "Pending", workers: { ready: 1, total: 2 } },
    pods: [pod(1, 0, "ready"), pod(1, 1, "ready")],
    expect: (d) => {
      assert.equal(d.status.phase, "Running");
      assert.deepEqual(reasons(d), ["Running"]);
      assert.deepEqual(d.actions, []);
    },
  },
  {
    name: "already Running: no event, nothing to do",
    status: running,
    pods: [pod(1, 0, "ready"), pod(1, 1, "ready")],
    expect: (d) => {
      assert.deepEqual(reasons(d), []);
      assert.deepEqual(d.actions, []);
    },
  },
  {
    name: "a rank not seen is created and the status stops saying Running",
    status: running,
    pods: [pod(1, 0, "ready")],
    expect: (d) => {
      assert.equal(d.status.phase, "Pending");
      assert.deepEqual(d.status.workers, { ready: 1, total: 2 });
      assert.equal(condition(d, "Running")?.status, "False");
      assert.deepEqual(action(d, "createWorkers")?.ranks, [1]);
    },
  },
  // failure and backoff
  {
    name: "a failed worker ends the attempt: counted, next attempt, whole gang retired, one event",
    status: running,
    pods: [pod(1, 0, "ready"), pod(1, 1, "failed")],
    expect: (d) => {
      assert.equal(d.status.restarts, 1);
      assert.equal(d.status.attempt, 2);
      assert.equal(d.status.phase, "Restarting");
      assert.deepEqual(d.status.workers, { ready: 0, total: 2 });
      assert.deepEqual(reasons(d), ["WorkerFailed"]);
      assert.match(d.events[0]!.message, /worker 1 \(t-a1-w1\) failed: Error, exit code 137/);
      assert.deepEqual(action(d, "deletePods")?.names, ["t-a1-w0", "t-a1-w1"]);
      assert.deepEqual(action(d, "releasePods")?.names, ["t-a1-w0", "t-a1-w1"]);
      assert.equal(
        action(d, "createWorkers"),
        undefined,
        "the next attempt is created once this is recorded",
      );
    },
  },
  {
    name: "a worker being deleted (force delete, eviction) is a failure too",
    status: running,
    pods: [
      pod(1, 0, "ready", { deleting: true, why: "was deleted (EvictionByEvictionAPI)" }),
      pod(1, 1, "ready"),
    ],
    expect: (d) => {
      assert.equal(d.status.restarts, 1);
      assert.equal(d.status.attempt, 2);
      assert.match(d.events[0]!.message, /worker 0 \(t-a1-w0\) was deleted \(EvictionByEvictionAPI\)/);
      assert.deepEqual(action(d, "deletePods")?.names, ["t-a1-w1"], "the deleting pod is not deleted again");
    },
  },
  {
    name: "the failure past backoffLimit fails the training with one event and no new attempt",
    status: { ...running, attempt: 2, restarts: 1 },
    pods: [pod(2, 0, "failed"), pod(2, 1, "ready")],
    expect: (d) => {
      assert.equal(d.status.phase, "Failed");
      assert.equal(d.status.restarts, 2);
      assert.equal(d.status.attempt, 2);
      assert.equal(condition(d, "Failed")?.reason, "BackoffLimitExceeded");
      assert.deepEqual(reasons(d), ["BackoffLimitExceeded"]);
      assert.ok(d.status.completionTime);
      assert.equal(action(d, "createWorkers"), undefined);
    },
  },
  // permanent errors (a Job's podFailurePolicy FailJob on an exit code)
  {
    name: "a worker that exits 66 fails the training at once with its message, no restart counted",
    status: running,
    pods: [
      pod(1, 0, "failed", { exitCode: 66, terminationMessage: MISSING_STYLE, why: "Error, exit code 66" }),
      pod(1, 1, "ready"),
    ],
    expect: (d) => {
      assert.equal(d.status.phase, "Failed");
      assert.equal(d.status.restarts, undefined, "the backoff budget is untouched");
      assert.equal(d.status.attempt, 1);
      assert.equal(condition(d, "Failed")?.status, "True");
      assert.equal(condition(d, "Failed")?.reason, "PermanentError");
      assert.match(
        condition(d, "Failed")!.message,
        /worker 0 \(t-a1-w0\) failed with a permanent error \(exit code 66\)/,
      );
      assert.ok(condition(d, "Failed")!.message.includes(MISSING_STYLE), "the worker's words: field and URI");
      assert.equal(condition(d, "Restarting")?.status, "False");
      assert.deepEqual(reasons(d), ["PermanentError"]);
      assert.ok(d.status.completionTime);
      assert.deepEqual(action(d, "deletePods")?.names, ["t-a1-w0", "t-a1-w1"], "the attempt is retired");
      assert.equal(action(d, "createWorkers"), undefined, "no next attempt");
    },
  },
  {
    name: "with backoff left or not, exit 66 wins over a peer's ordinary failure in the same pass",
    status: { ...running, attempt: 2, restarts: 1 },
    pods: [
      pod(2, 0, "failed"),
      pod(2, 1, "failed", { exitCode: 66, terminationMessage: MISSING_STYLE, why: "Error, exit code 66" }),
    ],
    expect: (d) => {
      assert.equal(condition(d, "Failed")?.reason, "PermanentError");
      assert.equal(d.status.restarts, 1);
      assert.deepEqual(reasons(d), ["PermanentError"]);
    },
  },
  {
    name: "exit 66 without a termination message still fails at once and says where to look",
    status: running,
    pods: [pod(1, 0, "failed", { exitCode: 66, why: "Error, exit code 66" }), pod(1, 1, "ready")],
    expect: (d) => {
      assert.equal(condition(d, "Failed")?.reason, "PermanentError");
      assert.match(condition(d, "Failed")!.message, /no termination message; see its log/);
    },
  },
  {
    name: "any other exit code, with a message too, is transient: the gang restarts and the failure is counted",
    status: running,
    pods: [
      pod(1, 0, "failed", {
        exitCode: 1,
        terminationMessage: "peer rank 1 missing",
        why: "Error, exit code 1",
      }),
      pod(1, 1, "ready"),
    ],
    expect: (d) => {
      assert.equal(d.status.phase, "Restarting");
      assert.equal(d.status.restarts, 1);
      assert.equal(d.status.attempt, 2);
      assert.deepEqual(reasons(d), ["WorkerFailed"]);
    },
  },
  {
    name: "exit 66 of an attempt already moved past is not judged again",
    status: { ...running, phase: "Restarting", attempt: 2, restarts: 1, workers: { ready: 0, total: 2 } },
    pods: [pod(1, 0, "failed", { exitCode: 66, terminationMessage: MISSING_STYLE })],
    expect: (d) => {
      assert.equal(d.status.phase, "Restarting");
      assert.deepEqual(reasons(d), []);
    },
  },
  {
    name: "pods of an attempt already moved past are retired without counting them again",
    status: { ...running, phase: "Restarting", attempt: 2, restarts: 1, workers: { ready: 0, total: 2 } },
    pods: [pod(1, 0, "ready"), pod(1, 1, "failed")],
    expect: (d) => {
      assert.equal(d.status.restarts, 1);
      assert.equal(d.status.attempt, 2);
      assert.equal(d.status.phase, "Restarting");
      assert.deepEqual(reasons(d), []);
      assert.deepEqual(action(d, "deletePods")?.names, ["t-a1-w0", "t-a1-w1"]);
      assert.deepEqual(action(d, "createWorkers"), { kind: "createWorkers", attempt: 2, ranks: [0, 1] });
    },
  },
  {
    name: "a worker that finished and is going away is no failure",
    status: running,
    pods: [pod(1, 0, "succeeded", { deleting: true }), pod(1, 1, "ready")],
    expect: (d) => assert.equal(d.status.restarts, undefined),
  },
  // rescale
  {
    name: "a changed spec.workers restarts the gang with the new size, uncounted",
    spec: { workers: 3 },
    status: running,
    pods: [pod(1, 0, "ready"), pod(1, 1, "ready")],
    expect: (d) => {
      assert.equal(d.status.attempt, 2);
      assert.equal(d.status.restarts, undefined);
      assert.deepEqual(reasons(d), ["Rescaled"]);
      assert.match(d.events[0]!.message, /from 2 to 3/);
    },
  },
  // success
  {
    name: "every rank exited 0: Succeeded with the model URI, finalizers released, model deployed",
    spec: { serving: { server: "default" } },
    status: running,
    pods: [pod(1, 0, "succeeded"), pod(1, 1, "succeeded")],
    now: later(60),
    expect: (d) => {
      assert.equal(d.status.phase, "Succeeded");
      assert.equal(d.status.modelURI, "s3://models/mosaic/model/");
      assert.equal(d.status.progress?.percent, 100);
      assert.equal(d.status.completionTime, later(60).toISOString());
      assert.deepEqual(reasons(d), ["Succeeded"]);
      assert.deepEqual(kinds(d), ["releasePods", "deploy"]);
    },
  },
  // deadline
  {
    name: "before activeDeadlineSeconds: come back when it passes",
    spec: { activeDeadlineSeconds: 100 },
    status: running,
    pods: [pod(1, 0, "ready"), pod(1, 1, "ready")],
    now: later(40),
    expect: (d) => {
      assert.equal(d.status.phase, "Running");
      assert.equal(d.requeueAfterMs, 60_000);
    },
  },
  {
    name: "past activeDeadlineSeconds: Failed, pods retired",
    spec: { activeDeadlineSeconds: 100 },
    status: running,
    pods: [pod(1, 0, "ready"), pod(1, 1, "ready")],
    now: later(100),
    expect: (d) => {
      assert.equal(d.status.phase, "Failed");
      assert.equal(condition(d, "Failed")?.reason, "DeadlineExceeded");
      assert.deepEqual(reasons(d), ["DeadlineExceeded"]);
      assert.deepEqual(action(d, "deletePods")?.names, ["t-a1-w0", "t-a1-w1"]);
    },
  },
  // TTL
  {
    name: "finished with ttlSecondsAfterFinished not yet passed: requeue at expiry",
    spec: { ttlSecondsAfterFinished: 30 },
    status: { phase: "Succeeded", attempt: 1, completionTime: T0.toISOString() },
    now: later(10),
    expect: (d) => {
      assert.equal(d.requeueAfterMs, 20_000);
      assert.deepEqual(reasons(d), []);
    },
  },
  {
    name: "finished and the TTL passed: Expired, then deleted",
    spec: { ttlSecondsAfterFinished: 30 },
    status: { phase: "Failed", attempt: 1, completionTime: T0.toISOString() },
    pods: [pod(1, 0, "failed"), pod(1, 1, "running")],
    now: later(30),
    expect: (d) => {
      assert.deepEqual(reasons(d), ["Expired"]);
      assert.deepEqual(kinds(d), ["deletePods", "releasePods", "deleteTraining"]);
      assert.deepEqual(action(d, "deletePods")?.names, ["t-a1-w1"], "finished pods are kept for their logs");
    },
  },
  // suspend
  {
    name: "suspend: pods retired, progress kept, announced once",
    spec: { suspend: true },
    status: { ...running, progress: { step: 5, totalSteps: 10, percent: 50, imagesPerSecond: 1 } },
    pods: [pod(1, 0, "ready"), pod(1, 1, "ready")],
    expect: (d) => {
      assert.equal(d.status.phase, "Suspended");
      assert.equal(d.status.progress?.step, 5);
      assert.deepEqual(reasons(d), ["Suspended"]);
      assert.deepEqual(kinds(d), ["deletePods", "releasePods"]);
    },
  },
  {
    name: "resume: a new attempt from the checkpoint, no restart counted, deadline clock restarted",
    status: {
      phase: "Suspended",
      attempt: 1,
      startTime: T0.toISOString(),
      conditions: [
        {
          type: "Suspended",
          status: "True",
          reason: "SpecSuspended",
          message: "",
          lastTransitionTime: T0.toISOString(),
        },
      ],
    },
    now: later(500),
    expect: (d) => {
      assert.equal(d.status.attempt, 2);
      assert.equal(d.status.restarts, undefined);
      assert.equal(d.status.startTime, later(500).toISOString());
      assert.deepEqual(reasons(d), ["Resumed"]);
      assert.deepEqual(action(d, "createWorkers")?.ranks, [0, 1]);
    },
  },
];

describe("StyleTraining policies", () => {
  for (const c of CASES) it(c.name, () => c.expect(decide(c)));

  it("an invalid spec fails the training once, creates nothing, and a corrected spec starts afresh", () => {
    const obj = minimalStyleTraining("t") as unknown as { spec: Record<string, unknown> };
    obj.spec.workers = 0;
    const first = decideTraining(
      { status: {}, generation: 1, pods: [], now: T0 },
      validateStyleTraining(obj),
    );
    assert.equal(first.status.phase, "Failed");
    assert.deepEqual(reasons(first), ["InvalidSpec"]);
    assert.deepEqual(first.actions, []);
    const again = decideTraining(
      { status: first.status, generation: 1, pods: [], now: T0 },
      validateStyleTraining(obj),
    );
    assert.deepEqual(reasons(again), [], "announced once");
    obj.spec.workers = 1;
    const fixed = decideTraining(
      { status: first.status, generation: 2, pods: [], now: T0 },
      validateStyleTraining(obj),
    );
    assert.equal(fixed.status.phase, "Pending");
    assert.equal(fixed.status.conditions?.find((c) => c.type === "Failed")?.reason, "SpecCorrected");
    assert.deepEqual(action(fixed, "createWorkers")?.ranks, [0]);
  });
});
